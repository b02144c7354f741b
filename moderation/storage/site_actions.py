"""Site actions: decisions to apply on the comment's site, written with the decision, delivered once.

Write paths:
  add_for_decision   (inside the decision's transaction) one row per audit row, so once per decision
  add_for_pipeline   (inside store.save_results' transaction) pre-moderation holds and queued notices
Delivery uses the outbox verbs (storage/outbox.py) on the `site_actions` table; a row is taken only when
every earlier action on the same comment is settled, so an undo never overtakes what it undoes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moderation.errors import OutboxError
from moderation.models import DECISION_VERBS, SiteAction
from moderation.storage import outbox
from moderation.storage.engine import Database
from moderation.storage.tables import SITE_ACTION_STATUSES, CommentRow, ModerationActionRow, SiteActionRow

SETTLED = ("delivered", "skipped")


# ---- writing ------------------------------------------------------------------------------------


def add_for_decision(session: Session, action: ModerationActionRow) -> None:
    """The site action of a moderator's decision or undo, in the same transaction as its audit row."""
    comment = session.get(CommentRow, action.comment_id)
    if comment is None:
        return
    undoes = None
    if action.undoes_action_id is not None:
        undoes = session.scalar(
            select(SiteActionRow.id).where(SiteActionRow.moderation_action_id == action.undoes_action_id)
        )
    decision = "undo" if action.undoes_action_id is not None else DECISION_VERBS.get(action.to_status)
    if decision is None:
        return
    session.add(
        SiteActionRow(
            moderation_action_id=action.id,
            comment_id=comment.id,
            source=comment.source,
            external_id=comment.external_id,
            decision=decision,
            reason_code=action.reason_code,
            undoes_site_action_id=undoes,
            actor=action.actor,
            status="pending",
            attempts=0,
            next_attempt_at=action.created_at,
            created_at=action.created_at,
        )
    )


@dataclass(frozen=True)
class PipelineAction:
    """A site action of the pipeline's own decision: pre-moderation's hold, or a queued notice."""

    moderation_action_id: int
    comment_row_id: int
    source: str
    external_id: str
    decision: str


def add_for_pipeline(session: Session, actions: list[PipelineAction], actor: str, now: datetime) -> int:
    """Rows for the pipeline's decisions, in the transaction that writes their audit rows. Returns rows added."""
    session.add_all(
        SiteActionRow(
            moderation_action_id=action.moderation_action_id,
            comment_id=action.comment_row_id,
            source=action.source,
            external_id=action.external_id,
            decision=action.decision,
            actor=actor,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for action in actions
    )
    return len(actions)


# ---- delivering ---------------------------------------------------------------------------------


def claim_due(db: Database, now: datetime, *, token: str, limit: int, stale_before: datetime) -> list[SiteAction]:
    ids = outbox.claim_due_rows(db, SiteActionRow, now, token=token, limit=limit, stale_before=stale_before)
    with db.session() as session:
        rows = session.scalars(select(SiteActionRow).where(SiteActionRow.id.in_(ids)).order_by(SiteActionRow.id))
        return [_action(session, row) for row in rows]


def blocking_action(db: Database, action: SiteAction) -> int | None:
    """An earlier action on the same comment that is not settled yet (delivered or skipped), if any."""
    with db.session() as session:
        return session.scalar(
            select(SiteActionRow.id)
            .where(
                SiteActionRow.id < action.id,
                SiteActionRow.source == action.source,
                SiteActionRow.external_id == action.comment_id,
                SiteActionRow.status.not_in(SETTLED),
            )
            .order_by(SiteActionRow.id)
            .limit(1)
        )


def mark_applied(
    db: Database, action_id: int, token: str, now: datetime, applied: str, site_status: str | None = None
) -> bool:
    """Delivered; with `site_status`, the comment's stored site status follows, in the same transaction, so
    the source's next read does not take this change for one made on the site."""
    with db.session() as session:
        result = session.execute(
            update(SiteActionRow)
            .where(SiteActionRow.id == action_id, SiteActionRow.status == "sending", SiteActionRow.claimed_by == token)
            .values(
                status="delivered",
                attempts=SiteActionRow.attempts + 1,
                delivered_at=now,
                applied=applied,
                last_error=None,
                claimed_by=None,
                claimed_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if int(getattr(result, "rowcount", 0)) != 1:
            return False
        if site_status is not None:
            comment = select(SiteActionRow.comment_id).where(SiteActionRow.id == action_id).scalar_subquery()
            session.execute(
                update(CommentRow)
                .where(CommentRow.id == comment)
                .values(site_status=site_status)
                .execution_options(synchronize_session=False)
            )
        return True


def mark_skipped(db: Database, action_id: int, token: str, now: datetime, why: str) -> bool:
    """Nothing to do on the site for this decision (recorded, so the list says why)."""
    return outbox.finish(db, SiteActionRow, action_id, token, status="skipped", delivered_at=now, last_error=why)


def mark_failed(db: Database, action_id: int, token: str, reason: str) -> bool:
    return outbox.mark_failed(db, action_id, token, reason, SiteActionRow)


def schedule_retry(db: Database, action_id: int, token: str, next_attempt_at: datetime, error: str) -> bool:
    return outbox.schedule_retry(db, action_id, token, next_attempt_at, error, SiteActionRow)


def release(db: Database, action_id: int, token: str, next_attempt_at: datetime) -> bool:
    return outbox.release(db, action_id, token, next_attempt_at, SiteActionRow)


# ---- reading and operator actions ---------------------------------------------------------------


def list_actions(db: Database, status: str | None = None, limit: int = 100) -> list[SiteAction]:
    """Site actions, newest first; `status` one of SITE_ACTION_STATUSES (None: all)."""
    if status is not None and status not in SITE_ACTION_STATUSES:
        raise OutboxError(f"unknown action status {status!r}: use one of {', '.join(SITE_ACTION_STATUSES)}")
    query = select(SiteActionRow).order_by(SiteActionRow.id.desc()).limit(limit)
    if status is not None:
        query = query.where(SiteActionRow.status == status)
    with db.session() as session:
        return [_action(session, row) for row in session.scalars(query)]


def get_action(db: Database, action_id: int) -> SiteAction:
    with db.session() as session:
        row = session.get(SiteActionRow, action_id)
        if row is None:
            raise OutboxError(f"no site action {action_id}: `moderation actions list` shows the ids")
        return _action(session, row)


def retry_failed(db: Database, action_id: int, now: datetime) -> SiteAction:
    """Put a failed action back in line for the next delivery run."""
    changed = outbox.requeue_failed(db, SiteActionRow, action_id, now)
    action = get_action(db, action_id)
    if not changed:
        raise OutboxError(f"site action {action_id} is {action.status}; only failed actions can be retried")
    return action


def _action(session: Session, row: SiteActionRow, *, with_undone: bool = True) -> SiteAction:
    undoes = None
    if with_undone and row.undoes_site_action_id is not None:
        undone = session.get(SiteActionRow, row.undoes_site_action_id)
        undoes = _action(session, undone, with_undone=False) if undone is not None else None
    return SiteAction(
        id=row.id,
        moderation_action_id=row.moderation_action_id,
        source=row.source,
        comment_id=row.external_id,
        decision=row.decision,
        reason_code=row.reason_code,
        actor=row.actor,
        undoes=undoes,
        applied=row.applied,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )
