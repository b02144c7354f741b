"""Moderators' decisions as labelled data (JSON lines), for retraining scorers and tuning thresholds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_

from moderation.models import QueueStatus, all_scores
from moderation.storage.engine import Database
from moderation.storage.tables import CommentRow, QueueItemRow, ScoreRow

FINAL = (QueueStatus.APPROVED.value, QueueStatus.REJECTED.value)
CHUNK = 500


def export_labels(db: Database, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """One record per approved or rejected queue item, oldest decision first.

    Each record: the comment (source, ids, author, text), its thread context ids (post, parent, replies), what
    the scorer said (labels, flags, evidence, attack target, scorer version), and the moderator's decision
    (decision, violation, reason_code, note, moderator, decided_at).
    """
    query = (
        select(QueueItemRow, CommentRow, ScoreRow)
        .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
        .outerjoin(ScoreRow, QueueItemRow.score_id == ScoreRow.id)
        .where(QueueItemRow.status.in_(FINAL), QueueItemRow.decided_by.is_not(None))
        .order_by(QueueItemRow.decided_at, QueueItemRow.id)
    )
    if since is not None:
        query = query.where(QueueItemRow.decided_at >= since)
    with db.session() as session:
        rows = list(session.execute(query))
        replies: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        for start in range(0, len(rows), CHUNK):
            wanted = {(c.source, c.external_id) for _, c, _ in rows[start : start + CHUNK]}
            found = session.execute(
                select(CommentRow.source, CommentRow.parent_external_id, CommentRow.external_id)
                .where(tuple_(CommentRow.source, CommentRow.parent_external_id).in_(wanted))
                .order_by(CommentRow.id)
            )
            for source, parent, external_id in found:
                replies[(source, parent)].append(external_id)
    for item, comment, score in rows:
        labels = all_scores(score.labels, score.attack_on_commenter) if score else {}
        yield {
            "queue_item_id": item.id,
            "source": comment.source,
            "comment_id": comment.external_id,
            "post_id": comment.post_external_id,
            "parent_id": comment.parent_external_id,
            "reply_ids": replies.get((comment.source, comment.external_id), []),
            "author": comment.author,
            "text": comment.text,
            "content_hash": item.content_hash,
            "labels": labels,
            "flags": dict(item.reasons),
            "attack_target": item.attack_target,
            "evidence": dict(score.evidence) if score else {},
            "scorer": score.scorer_version if score else None,
            "priority": item.priority,
            "decision": item.status,
            "violation": item.status == QueueStatus.REJECTED,
            "reason_code": item.decision_code,
            "note": item.decision_reason,
            "moderator": item.decided_by,
            "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        }
