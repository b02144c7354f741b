"""The review queue as moderators see it: reading items (deciding on them comes with the review UI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from moderation.errors import QueueError
from moderation.storage.engine import Database
from moderation.storage.tables import QUEUE_STATUSES, CommentRow, QueueItemRow, ScoreRow


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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


def list_items(db: Database, status: str = "pending", limit: int = 100) -> list[QueueEntry]:
    """Queue items with `status`, most severe first (then oldest first)."""
    if status not in QUEUE_STATUSES:
        raise QueueError(f"unknown status {status!r}: use one of {', '.join(QUEUE_STATUSES)}")
    query = (
        select(QueueItemRow, CommentRow, ScoreRow)
        .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
        .outerjoin(ScoreRow, QueueItemRow.score_id == ScoreRow.id)
        .where(QueueItemRow.status == status)
        .order_by(QueueItemRow.priority.desc(), QueueItemRow.id)
        .limit(limit)
    )
    with db.session() as session:
        return [_entry(item, comment, score) for item, comment, score in session.execute(query)]


def _entry(item: QueueItemRow, comment: CommentRow, score: ScoreRow | None) -> QueueEntry:
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
    )
