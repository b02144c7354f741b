"""The project's exceptions: one base class, one subclass per boundary."""


class ModerationError(Exception):
    """Base class for every error this package raises on purpose."""


class ConfigError(ModerationError):
    """The configuration file or an environment override is invalid."""


class SourceError(ModerationError):
    """A comment source could not be read."""


class ScoringError(ModerationError):
    """A scorer could not be loaded or failed to score."""


class StorageError(ModerationError):
    """The database could not be opened or migrated."""


class QueueError(ModerationError):
    """A review-queue operation was refused (unknown item, stale version, bad status)."""


class AlertDeliveryError(ModerationError):
    """An alert could not be delivered to its channel."""
