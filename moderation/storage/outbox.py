"""The alert outbox: alerts written with the queue rows that cause them, then delivered exactly once.

Write paths, one verb each:
  add_alerts        (inside store.save_results' transaction) one row per alert per channel, idempotent
  record_alerts     the same in a transaction of its own (backlog alerts)
  claim_due         pending rows whose time has come, plus rows a crashed deliverer left in `sending`
  mark_delivered / mark_failed / schedule_retry / release   only by the deliverer holding the claim
  retry_failed      a moderator's "send it again"

The delivery verbs take the outbox table, so site actions (storage/site_actions.py) are delivered by
the same claim and retry machinery as alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from moderation.errors import OutboxError
from moderation.models import AlertDraft, AlertRule, FlaggedItem, OutboxEntry, QueueStatus, all_scores
from moderation.storage.engine import Database, dialect_insert
from moderation.storage.tables import (
    ALERT_STATUSES,
    AlertOutboxRow,
    CommentRow,
    PostRow,
    QueueItemRow,
    ScoreRow,
    SiteActionRow,
)

Deliverable = type[AlertOutboxRow] | type[SiteActionRow]
"""An outbox table: rows delivered once, with the same status, attempt and claim columns."""

# ---- writing alerts -------------------------------------------------------------------------------


def add_alerts_for_items(session: Session, item_ids: Iterable[int], rule: AlertRule, now: datetime) -> int:
    """Run `rule` over newly queued items and their posts' queue history; write what it decides.

    Called inside the transaction that inserted the queue rows, so alerts and queue rows commit together.
    """
    new_ids = set(item_ids)
    if not new_ids:
        return 0
    thread = _flagged_on_same_posts(session, new_ids, now)
    new = [item for item in thread if item.item_id in new_ids]
    return add_alerts(session, rule(new, thread), now)


def add_alerts(session: Session, drafts: Sequence[AlertDraft], now: datetime) -> int:
    """One outbox row per draft per channel; a (key, channel) already written is skipped. Returns rows added."""
    rows = [
        {
            "kind": draft.kind,
            "dedupe_key": draft.key,
            "channel": channel,
            "source": draft.source,
            "post_external_id": draft.post_id,
            "window_start": draft.window_start,
            "payload": draft.payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for draft in drafts
        for channel in draft.channels
    ]
    if not rows:
        return 0
    statement = (
        dialect_insert(session, AlertOutboxRow)
        .on_conflict_do_nothing(index_elements=["dedupe_key", "channel"])
        .values(rows)
        .returning(AlertOutboxRow.id)
    )
    return len(session.execute(statement).all())


def record_alerts(db: Database, drafts: Sequence[AlertDraft], now: datetime) -> int:
    with db.session() as session:
        return add_alerts(session, drafts, now)


def _flagged_on_same_posts(session: Session, new_ids: set[int], now: datetime) -> list[FlaggedItem]:
    """The new items plus every queue item on the same posts (latest revision of each comment)."""
    posts = set(
        session.execute(
            select(CommentRow.source, CommentRow.post_external_id)
            .join(QueueItemRow, QueueItemRow.comment_id == CommentRow.id)
            .where(QueueItemRow.id.in_(new_ids), CommentRow.post_external_id.is_not(None))
        ).all()
    )
    wanted: ColumnElement[bool] = QueueItemRow.id.in_(new_ids)
    if posts:
        wanted = or_(wanted, tuple_(CommentRow.source, CommentRow.post_external_id).in_(posts))
    query = (
        select(QueueItemRow, CommentRow, PostRow.title, ScoreRow.labels, ScoreRow.attack_on_commenter)
        .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
        .outerjoin(PostRow, CommentRow.post_id == PostRow.id)
        .outerjoin(ScoreRow, QueueItemRow.score_id == ScoreRow.id)
        .where(wanted)
        .order_by(QueueItemRow.id)
    )
    latest: dict[int, FlaggedItem] = {}
    for item, comment, post_title, labels, attack in session.execute(query):
        scores = all_scores(labels, attack)
        latest[comment.id] = FlaggedItem(
            item_id=item.id,
            source=comment.source,
            post_id=comment.post_external_id,
            post_title=post_title,
            comment_id=comment.external_id,
            author=comment.author,
            text=comment.text,
            reasons=dict(item.reasons),
            scores=scores,
            attack_target=item.attack_target,
            priority=item.priority,
            at=comment.created_at or item.created_at or now,
        )
    return list(latest.values())


# ---- delivering -----------------------------------------------------------------------------------


def claim_due(db: Database, now: datetime, *, token: str, limit: int, stale_before: datetime) -> list[OutboxEntry]:
    """Claim up to `limit` alerts that are due (or whose claim went stale) for the deliverer `token`."""
    ids = claim_due_rows(db, AlertOutboxRow, now, token=token, limit=limit, stale_before=stale_before)
    with db.session() as session:
        return [_entry(row) for row in session.scalars(select(AlertOutboxRow).where(AlertOutboxRow.id.in_(ids)))]


def claim_due_rows(
    db: Database, table: Deliverable, now: datetime, *, token: str, limit: int, stale_before: datetime
) -> list[int]:
    """Claim up to `limit` rows of an outbox table that are due (or whose claim went stale) for `token`.

    The UPDATE repeats the due condition, so of two deliverers racing for a row exactly one gets it
    (PostgreSQL re-checks the condition on the row a concurrent transaction just changed; SQLite
    serialises writers). Returns the claimed ids, oldest first.
    """
    claimable = or_(
        and_(table.status == "pending", table.next_attempt_at <= now),
        and_(table.status == "sending", table.claimed_at < stale_before),
    )
    candidates = (
        select(table.id).where(claimable).order_by(table.next_attempt_at, table.id).limit(limit).scalar_subquery()
    )
    with db.session() as session:
        session.execute(
            update(table)
            .where(table.id.in_(candidates), claimable)
            .values(status="sending", claimed_by=token, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
    with db.session() as session:
        return list(
            session.scalars(
                select(table.id).where(table.status == "sending", table.claimed_by == token).order_by(table.id)
            )
        )


def mark_delivered(db: Database, alert_id: int, token: str, now: datetime, table: Deliverable = AlertOutboxRow) -> bool:
    return finish(
        db, table, alert_id, token, status="delivered", attempts=table.attempts + 1, delivered_at=now, last_error=None
    )


def mark_failed(db: Database, alert_id: int, token: str, reason: str, table: Deliverable = AlertOutboxRow) -> bool:
    """A permanent failure: never retried automatically (`moderation alerts retry ID` sends it again)."""
    return finish(db, table, alert_id, token, status="failed", attempts=table.attempts + 1, last_error=reason)


def schedule_retry(
    db: Database, alert_id: int, token: str, next_attempt_at: datetime, error: str, table: Deliverable = AlertOutboxRow
) -> bool:
    """A transient failure: try again at `next_attempt_at`."""
    return finish(
        db,
        table,
        alert_id,
        token,
        status="pending",
        attempts=table.attempts + 1,
        next_attempt_at=next_attempt_at,
        last_error=error,
    )


def release(
    db: Database, alert_id: int, token: str, next_attempt_at: datetime, table: Deliverable = AlertOutboxRow
) -> bool:
    """Give a claimed row back unattempted (its channel just failed on another alert)."""
    return finish(db, table, alert_id, token, status="pending", next_attempt_at=next_attempt_at)


def finish(db: Database, table: Deliverable, row_id: int, token: str, **values: Any) -> bool:
    """Change a row this deliverer holds; False if the claim was lost (taken over as stale)."""
    with db.session() as session:
        result = session.execute(
            update(table)
            .where(table.id == row_id, table.status == "sending", table.claimed_by == token)
            .values(claimed_by=None, claimed_at=None, **values)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0)) == 1


# ---- reading and operator actions -----------------------------------------------------------------


def list_alerts(db: Database, status: str | None = None, limit: int = 100) -> list[OutboxEntry]:
    """Outbox rows, newest first; `status` one of pending, sending, delivered, failed (None: all)."""
    if status is not None and status not in ALERT_STATUSES:
        raise OutboxError(f"unknown alert status {status!r}: use one of {', '.join(ALERT_STATUSES)}")
    query = select(AlertOutboxRow).order_by(AlertOutboxRow.id.desc()).limit(limit)
    if status is not None:
        query = query.where(AlertOutboxRow.status == status)
    with db.session() as session:
        return [_entry(row) for row in session.scalars(query)]


def get_alert(db: Database, alert_id: int) -> OutboxEntry:
    with db.session() as session:
        row = session.get(AlertOutboxRow, alert_id)
        if row is None:
            raise OutboxError(f"no alert {alert_id}: `moderation alerts list` shows the ids")
        return _entry(row)


def retry_failed(db: Database, alert_id: int, now: datetime) -> OutboxEntry:
    """Put a failed alert back in line to be sent by the next delivery run."""
    changed = requeue_failed(db, AlertOutboxRow, alert_id, now)
    entry = get_alert(db, alert_id)
    if not changed:
        raise OutboxError(f"alert {alert_id} is {entry.status}; only failed alerts can be retried")
    return entry


def requeue_failed(db: Database, table: Deliverable, row_id: int, now: datetime) -> bool:
    """A failed row back to pending, due now; False if the row is not failed."""
    with db.session() as session:
        result = session.execute(
            update(table)
            .where(table.id == row_id, table.status == "failed")
            .values(status="pending", next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0)) == 1


def pending_backlog(db: Database) -> tuple[int, datetime | None]:
    """How many review-queue items are pending, and when the oldest was queued."""
    with db.session() as session:
        count, oldest = session.execute(
            select(func.count(QueueItemRow.id), func.min(QueueItemRow.created_at)).where(
                QueueItemRow.status == QueueStatus.PENDING
            )
        ).one()
    return int(count or 0), oldest


# ---- helpers --------------------------------------------------------------------------------------


def _entry(row: AlertOutboxRow) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        kind=row.kind,
        dedupe_key=row.dedupe_key,
        channel=row.channel,
        source=row.source,
        post_id=row.post_external_id,
        window_start=row.window_start,
        payload=dict(row.payload),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )
