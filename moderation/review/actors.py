"""Who acts on the queue, and what each role may do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, true

from moderation.models import OPEN_STATUSES, QueueStatus
from moderation.storage.tables import CommentRow, UserRow

MODERATOR = "moderator"
ADMIN = "admin"


@dataclass(frozen=True)
class Moderator:
    name: str
    role: str = MODERATOR
    sources: frozenset[str] | None = None
    """The sources whose items this moderator may see and decide; None: every source."""

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def decidable(self) -> tuple[str, ...]:
        """Statuses of the items this moderator may claim and decide: escalated items are for admins."""
        return OPEN_STATUSES if self.is_admin else (QueueStatus.PENDING.value,)

    def may_see(self, source: str) -> bool:
        return self.sources is None or source in self.sources

    def sees(self, comment: Any = CommentRow) -> ColumnElement[bool]:
        """WHERE condition: the comment (a CommentRow or an alias of it) is of a source this moderator may see."""
        return true() if self.sources is None else comment.source.in_(sorted(self.sources))


def moderator_from(row: UserRow) -> Moderator:
    return Moderator(row.name, row.role, limited_to(row.sources))


def limited_to(sources: Iterable[str] | None) -> frozenset[str] | None:
    return None if sources is None else frozenset(sources)
