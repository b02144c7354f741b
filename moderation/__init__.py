"""Self-hosted comment moderation: ingest, score, flag and review comments."""

__version__ = "0.1.0"
