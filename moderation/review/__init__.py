"""Moderators' review of the queue: claims, version-checked decisions and undo, context, accounts, export.

The web UI (`moderation.web`) and the CLI (`moderation queue ...`) are thin layers over these functions.
"""

from moderation.review.actors import ADMIN, MODERATOR, Moderator
from moderation.review.claims import claim, claim_next, release
from moderation.review.context import AuditEntry, AuthorHistory, ThreadContext, audit_for, author_history, thread_for
from moderation.review.decisions import BulkOutcome, Decided, Undone, bulk_decide, decide, undo_last

__all__ = [
    "ADMIN",
    "MODERATOR",
    "AuditEntry",
    "AuthorHistory",
    "BulkOutcome",
    "Decided",
    "Moderator",
    "ThreadContext",
    "Undone",
    "audit_for",
    "author_history",
    "bulk_decide",
    "claim",
    "claim_next",
    "decide",
    "release",
    "thread_for",
    "undo_last",
]
