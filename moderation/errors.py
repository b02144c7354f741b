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


class SourcesFailedError(SourceError):
    """Some sources could not be read; the run processed the others (`summary` says what it did)."""

    def __init__(self, failures: dict[str, str], summary: object = None) -> None:
        super().__init__(
            "; ".join(
                error if error.startswith(f"source {name}") else f"source {name}: {error}"
                for name, error in failures.items()
            )
        )
        self.failures = failures
        self.summary = summary

    def __reduce__(self) -> tuple[type, tuple[dict[str, str], object]]:
        return type(self), (self.failures, self.summary)
