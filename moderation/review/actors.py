"""Who acts on the queue, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass

from moderation.models import OPEN_STATUSES, QueueStatus

MODERATOR = "moderator"
ADMIN = "admin"


@dataclass(frozen=True)
class Moderator:
    name: str
    role: str = MODERATOR

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def decidable(self) -> tuple[str, ...]:
        """Statuses of the items this moderator may claim and decide: escalated items are for admins."""
        return OPEN_STATUSES if self.is_admin else (QueueStatus.PENDING.value,)
