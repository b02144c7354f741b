"""Claims: an item a moderator opened is theirs alone until they decide, move on, or the claim goes stale.

A moderator holds at most one claim: taking an item releases any other item they held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, aliased

from moderation.config import ReviewSettings
from moderation.errors import AlreadyClaimed, AlreadyDecided, NotAllowed
from moderation.models import OPEN_STATUSES, QueueStatus
from moderation.review.actors import Moderator
from moderation.review.queue import QueueEntry, QueueFilter, check_status, get_item, unknown_item
from moderation.storage.engine import Database, rowcount
from moderation.storage.tables import CommentRow, QueueItemRow


def claim(db: Database, item_id: int, moderator: Moderator, now: datetime, rules: ReviewSettings) -> QueueEntry:
    """Take item `item_id` for `moderator`, or raise why not (decided, escalated, someone else's)."""
    cutoff = stale_before(now, rules)
    with db.session() as session:
        check_visible(session, item_id, moderator)
        release_others(session, moderator, keep=item_id)
        taken = session.execute(
            update(QueueItemRow)
            .where(
                QueueItemRow.id == item_id,
                QueueItemRow.status.in_(moderator.decidable()),
                claimable_by(moderator, cutoff),
            )
            .values(claimed_by=moderator.name, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(taken) != 1:
            raise refusal(session, item_id, moderator, cutoff, rules)
    return get_item(db, item_id, moderator)


def claim_next(
    db: Database,
    moderator: Moderator,
    now: datetime,
    rules: ReviewSettings,
    status: str = QueueStatus.PENDING,
    filters: QueueFilter | None = None,
) -> QueueEntry | None:
    """Claim the most severe unclaimed item with `status` (and `filters`), or None when there is none.

    PostgreSQL: the candidate row is locked with FOR UPDATE SKIP LOCKED, so concurrent moderators each get a
    different item without waiting. SQLite: one UPDATE ... WHERE id = (SELECT ...) statement, which SQLite
    runs under its single write lock.
    """
    check_status(status)
    if status not in moderator.decidable():
        raise NotAllowed(f"{moderator.name} may not work the {status} queue: escalated items are for admins")
    cutoff = stale_before(now, rules)
    item = aliased(QueueItemRow)
    candidate = (
        select(item.id)
        .join(CommentRow, item.comment_id == CommentRow.id)
        .where(
            item.status == status,
            or_(item.claimed_by.is_(None), item.claimed_at < cutoff),
            moderator.sees(),
            *(filters or QueueFilter()).conditions(item=item),
        )
        .order_by(item.priority.desc(), item.id)
        .limit(1)
    )
    with db.session() as session:
        release_others(session, moderator, keep=None)
        if session.get_bind().dialect.name == "postgresql":
            found = session.scalar(candidate.with_for_update(of=item, skip_locked=True))
            if found is None:
                return None
            session.execute(
                update(QueueItemRow)
                .where(QueueItemRow.id == found)
                .values(claimed_by=moderator.name, claimed_at=now)
                .execution_options(synchronize_session=False)
            )
        else:
            found = session.scalar(
                update(QueueItemRow)
                .where(QueueItemRow.id == candidate.scalar_subquery())
                .values(claimed_by=moderator.name, claimed_at=now)
                .returning(QueueItemRow.id)
                .execution_options(synchronize_session=False)
            )
            if found is None:
                return None
    return get_item(db, found, moderator)


def release(db: Database, item_id: int, moderator: Moderator) -> bool:
    """Give item `item_id` back to the queue if `moderator` holds it; True if they did."""
    with db.session() as session:
        result = session.execute(
            update(QueueItemRow)
            .where(QueueItemRow.id == item_id, QueueItemRow.claimed_by == moderator.name)
            .values(claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1


def check_visible(session: Session, item_id: int, moderator: Moderator) -> None:
    """Raise UnknownItem when item `item_id` does not exist or is of a source `moderator` may not see."""
    source = session.scalar(
        select(CommentRow.source)
        .join(QueueItemRow, QueueItemRow.comment_id == CommentRow.id)
        .where(QueueItemRow.id == item_id)
    )
    if source is None or not moderator.may_see(source):
        raise unknown_item(item_id)


def stale_before(now: datetime, rules: ReviewSettings) -> datetime:
    """Claims taken before this moment have expired."""
    return now - timedelta(minutes=rules.claim_timeout_minutes)


def claimable_by(moderator: Moderator, cutoff: datetime) -> ColumnElement[bool]:
    """Unclaimed, claimed by this moderator, or claimed by someone whose claim went stale."""
    return or_(
        QueueItemRow.claimed_by.is_(None),
        QueueItemRow.claimed_by == moderator.name,
        QueueItemRow.claimed_at < cutoff,
    )


def release_others(session: Session, moderator: Moderator, keep: int | None) -> None:
    query = update(QueueItemRow).where(QueueItemRow.claimed_by == moderator.name)
    if keep is not None:
        query = query.where(QueueItemRow.id != keep)
    session.execute(query.values(claimed_by=None, claimed_at=None).execution_options(synchronize_session=False))


def refusal(session: Session, item_id: int, moderator: Moderator, cutoff: datetime, rules: ReviewSettings) -> Exception:
    """Why `moderator` can't claim or decide item `item_id` now, as the error to raise."""
    row = session.get(QueueItemRow, item_id, populate_existing=True)
    if row is None:
        return unknown_item(item_id)
    if row.status not in OPEN_STATUSES:
        by = f" by {row.decided_by}" if row.decided_by else ""
        return AlreadyDecided(f"item #{item_id} is already {row.status}{by}; nothing left to decide")
    if row.status not in moderator.decidable():
        return NotAllowed(f"item #{item_id} is {row.status}: only an admin can decide it")
    if row.claimed_by and row.claimed_by != moderator.name and row.claimed_at is not None:
        since = row.claimed_at
        if since >= cutoff:
            free_at = since + timedelta(minutes=rules.claim_timeout_minutes)
            return AlreadyClaimed(
                f"item #{item_id} is being reviewed by {row.claimed_by} since {since:%H:%M} UTC; "
                f"it is free again at {free_at:%H:%M} UTC or when {row.claimed_by} moves on"
            )
    return AlreadyClaimed(f"item #{item_id} changed while you claimed it; try again")
