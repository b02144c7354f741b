"""Comments a scorer raised on, as recorded by store.Claim.save: listed, and forgotten on request.

A failed comment revision is not scored again by the same scorer version (store._unscored skips it)
until its text changes or `forget` removes its row (`moderation failures retry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from moderation.storage.engine import Database, rowcount
from moderation.storage.tables import CommentRow, ScoringFailureRow


@dataclass(frozen=True)
class ScoringFailure:
    """One recorded failure, as `moderation failures list` shows it."""

    id: int
    source: str
    comment_id: str
    scorer: str
    scorer_version: str
    error: str
    failed_at: datetime


def listed(db: Database) -> list[ScoringFailure]:
    """Every recorded failure, oldest first."""
    query = (
        select(ScoringFailureRow, CommentRow.source, CommentRow.external_id)
        .join(CommentRow, CommentRow.id == ScoringFailureRow.comment_id)
        .order_by(ScoringFailureRow.id)
    )
    with db.session() as session:
        return [
            ScoringFailure(row.id, source, external_id, row.scorer, row.scorer_version, row.error, row.failed_at)
            for row, source, external_id in session.execute(query)
        ]


def forget(db: Database, ids: Sequence[int] | None = None) -> int:
    """Remove the failures with these ids (None: all), so the next run scores those comments again."""
    statement = delete(ScoringFailureRow)
    if ids is not None:
        statement = statement.where(ScoringFailureRow.id.in_(list(ids)))
    with db.session() as session:
        return rowcount(session.execute(statement))
