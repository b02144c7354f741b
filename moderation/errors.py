"""The project's exceptions: one base class, one subclass per boundary."""

from datetime import datetime


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


class UnknownItem(QueueError):
    """No queue item has that id."""


class AlreadyClaimed(QueueError):
    """Another moderator holds a fresh claim on the item."""


class AlreadyDecided(QueueError):
    """The item is approved or rejected already; there is nothing left to decide."""


class StaleVersion(QueueError):
    """The item changed since the moderator loaded it; the decision was not applied."""


class NotAllowed(QueueError):
    """The moderator's role may not do this (escalated items are for admins)."""


class NothingToUndo(QueueError):
    """The moderator has no decision that can still be undone."""


class CommenterError(QueueError):
    """A commenter's state or note was refused (a key that is not `user:` or `email:`, trust for a non-user)."""


class AccountError(ModerationError):
    """A user account could not be created or changed (duplicate name, unknown role, short password)."""


class ApiKeyError(ModerationError):
    """An API key could not be created or revoked (duplicate or unknown name)."""


class DeliveryError(ModerationError):
    """Something could not be delivered to another system (an alert to its channel, a decision to its site).

    `permanent` means trying again cannot help (HTTP 4xx other than 408/429, a refused address, bad
    credentials): the alert or action is marked failed instead of retried. The other side may ask for a
    wait with Retry-After: `retry_after` in seconds, or `retry_at` for an HTTP-date.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.retry_at = retry_at

    def delay_asked(self, now: datetime) -> float | None:
        """Seconds the other side asked us to wait from `now`, if it asked."""
        if self.retry_at is not None:
            return max(0.0, (self.retry_at - now).total_seconds())
        return self.retry_after


class AlertDeliveryError(DeliveryError):
    """An alert could not be delivered to its channel."""


class SiteActionError(DeliveryError):
    """A decision could not be applied on the comment's site."""


class OutboxError(ModerationError):
    """An alert-outbox operation was refused (unknown alert, wrong status)."""


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
