"""The review queue as moderators see it: reading items, filtered and most severe first.

Deciding on items (claims, version-checked decisions, undo) lives in `moderation.review`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from moderation.errors import QueueError, UnknownItem
from moderation.models import QUEUE_STATUSES, QueueStatus, all_scores
from moderation.storage.engine import Database
from moderation.storage.tables import CommentRow, PostRow, QueueItemRow, ScoreRow


@dataclass(frozen=True)
class QueueEntry:
    id: int
    status: str
    priority: float
    reasons: dict[str, float]
    attack_target: str | None
    source: str
    comment_id: str
    post_id: str | None
    author: str
    parent_id: str | None
    text: str
    evidence: dict[str, list[list[int]]]
    scorer: str | None
    created_at: datetime
    version: int
    labels: dict[str, float]
    """Every score of the comment (label scores plus attack_on_commenter), flagged or not."""
    claimed_by: str | None
    claimed_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_code: str | None
    decision_note: str | None
    comment_created_at: datetime | None
    author_id: str | None = None
    """The source's user id of a registered author (None: a guest)."""
    url: str | None = None
    """The comment on its site ("view on site")."""
    post_title: str | None = None

    @property
    def site_link(self) -> str | None:
        """`url` when it is a web address (a source's URL could say javascript:), for "view on site"."""
        return self.url if self.url and self.url.startswith(("https://", "http://")) else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


@dataclass(frozen=True)
class QueueFilter:
    """Narrows a queue view: items flagged for `label`, on post `post`, written by `author`."""

    label: str | None = None
    post: str | None = None
    author: str | None = None

    def conditions(self, item: Any = QueueItemRow, comment: Any = CommentRow) -> list[ColumnElement[bool]]:
        """WHERE conditions for a query that joins the queue item (`item`) to its comment (`comment`)."""
        found: list[ColumnElement[bool]] = []
        if self.label:
            found.append(item.reasons[self.label].as_float().is_not(None))
        if self.post:
            found.append(comment.post_external_id == self.post)
        if self.author:
            found.append(comment.author == self.author)
        return found

    def is_empty(self) -> bool:
        return not (self.label or self.post or self.author)


def list_items(
    db: Database,
    status: str = QueueStatus.PENDING,
    limit: int = 100,
    filters: QueueFilter | None = None,
    offset: int = 0,
) -> list[QueueEntry]:
    """Queue items with `status`, most severe first (then oldest first)."""
    check_status(status)
    query = (
        _entries_query()
        .where(QueueItemRow.status == status, *(filters or QueueFilter()).conditions())
        .order_by(QueueItemRow.priority.desc(), QueueItemRow.id)
        .limit(limit)
        .offset(offset)
    )
    with db.session() as session:
        return [entry(*row) for row in session.execute(query)]


def get_item(db: Database, item_id: int) -> QueueEntry:
    """One queue item by id, whatever its status."""
    with db.session() as session:
        found = session.execute(_entries_query().where(QueueItemRow.id == item_id)).first()
    if found is None:
        raise UnknownItem(f"no queue item #{item_id}: `moderation queue list` shows the ids")
    return entry(*found)


def count_items(db: Database, filters: QueueFilter | None = None) -> dict[str, int]:
    """How many items each status has (with `filters`)."""
    query = (
        select(QueueItemRow.status, func.count())
        .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
        .where(*(filters or QueueFilter()).conditions())
        .group_by(QueueItemRow.status)
    )
    with db.session() as session:
        found = {status: int(count) for status, count in session.execute(query)}
    return {status: found.get(status, 0) for status in QUEUE_STATUSES}


def neighbours(db: Database, item: QueueEntry, filters: QueueFilter | None = None) -> tuple[int | None, int | None]:
    """The ids of the items just before and just after `item` in its status's queue order (with `filters`)."""
    base = (
        select(QueueItemRow.id)
        .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
        .where(QueueItemRow.status == item.status, *(filters or QueueFilter()).conditions())
        .limit(1)
    )
    p, i = QueueItemRow.priority, QueueItemRow.id
    earlier = or_(p > item.priority, and_(p == item.priority, i < item.id))
    later = or_(p < item.priority, and_(p == item.priority, i > item.id))
    with db.session() as session:
        before = session.scalar(base.where(earlier).order_by(p.asc(), i.desc()))
        after = session.scalar(base.where(later).order_by(p.desc(), i.asc()))
    return before, after


def check_status(status: str) -> None:
    if status not in QUEUE_STATUSES:
        raise QueueError(f"unknown status {status!r}: use one of {', '.join(QUEUE_STATUSES)}")


def _entries_query() -> Select[QueueItemRow, CommentRow, ScoreRow, str | None]:
    return (
        select(QueueItemRow, CommentRow, ScoreRow, PostRow.title)
        .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
        .outerjoin(ScoreRow, QueueItemRow.score_id == ScoreRow.id)
        .outerjoin(PostRow, CommentRow.post_id == PostRow.id)
    )


def entry(item: QueueItemRow, comment: CommentRow, score: ScoreRow | None, post_title: str | None = None) -> QueueEntry:
    labels = all_scores(score.labels, score.attack_on_commenter) if score else {}
    return QueueEntry(
        id=item.id,
        status=item.status,
        priority=item.priority,
        reasons=dict(item.reasons),
        attack_target=item.attack_target,
        source=comment.source,
        comment_id=comment.external_id,
        post_id=comment.post_external_id,
        author=comment.author,
        parent_id=comment.parent_external_id,
        text=comment.text,
        evidence=dict(score.evidence) if score else {},
        scorer=score.scorer_version if score else None,
        created_at=item.created_at,
        version=item.version,
        labels=labels,
        claimed_by=item.claimed_by,
        claimed_at=item.claimed_at,
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        decision_code=item.decision_code,
        decision_note=item.decision_reason,
        comment_created_at=comment.created_at,
        author_id=comment.author_id,
        url=comment.url,
        post_title=post_title,
    )
