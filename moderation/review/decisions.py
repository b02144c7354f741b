"""Decisions on queue items: approve, reject, escalate, in bulk, and undo of one's last decision.

Every decision is one transaction: a conditional UPDATE (`WHERE id = :id AND version = :expected AND
status = :from AND <the claim is free or the moderator's>`) that bumps `version`, plus the audit row. A
decision on an item that changed meanwhile updates nothing and is refused with StaleVersion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, aliased

from moderation.config import ReviewSettings
from moderation.errors import AlreadyDecided, NotAllowed, NothingToUndo, QueueError, StaleVersion
from moderation.models import DECISIONS, OPEN_STATUSES, SYSTEM_ACTOR, QueueStatus, all_scores
from moderation.review.actors import Moderator
from moderation.review.claims import check_visible, claimable_by, refusal, release_others, stale_before
from moderation.storage import site_actions
from moderation.storage.engine import Database, rowcount
from moderation.storage.tables import CommentRow, ModerationActionRow, QueueItemRow, ScoreRow

NOTE_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Decided:
    item_id: int
    comment_id: str
    from_status: str
    status: str
    version: int
    """The item's version after the decision."""
    action_id: int
    actor: str
    reason_code: str | None
    note: str | None
    decided_at: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["decided_at"] = self.decided_at.isoformat()
        return data


@dataclass
class BulkOutcome:
    decided: list[Decided] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    """Item id and why it was left alone, for each item not decided."""


@dataclass(frozen=True)
class Undone:
    item_id: int
    comment_id: str
    undone_action_id: int
    action_id: int
    was: str
    """The status the undone decision had set."""
    status: str
    """The status the item is back in."""
    version: int


@dataclass(frozen=True)
class _Snapshot:
    row: QueueItemRow
    comment_id: str
    source: str
    scorer: str | None
    scores: dict[str, Any] | None


def decide(
    db: Database,
    item_id: int,
    status: str,
    *,
    moderator: Moderator,
    expected_version: int | None,
    now: datetime,
    rules: ReviewSettings,
    reason_code: str | None = None,
    note: str | None = None,
    codes_by_source: Mapping[str, Sequence[str]] | None = None,
) -> Decided:
    """Set item `item_id` to `status` (approved, rejected, escalated) if it is still at `expected_version`.

    `expected_version` None means "as it is now" (scripts); the claim check applies either way. An item of a
    source the moderator may not see is unknown to them. A rejection's reason is one of the item's source's
    codes (`codes_by_source`, `Settings.reason_codes_by_source()`), else of `rules.reason_codes`.
    """
    snapshot = _snapshot(db, item_id, moderator)
    codes = source_codes(snapshot.source, rules, codes_by_source)
    reason_code, note = check_decision(status, reason_code, note, rules, codes=codes, source=snapshot.source)
    item = snapshot.row
    expected = item.version if expected_version is None else expected_version
    if item.version != expected:
        raise StaleVersion(_changed(item))
    if item.status not in OPEN_STATUSES:
        raise AlreadyDecided(f"item #{item_id} is already {item.status}{_by(item)}; nothing left to decide")
    if item.status not in moderator.decidable():
        raise NotAllowed(f"item #{item_id} is {item.status}: only an admin can decide it")
    if item.status == status:
        raise QueueError(f"item #{item_id} is already {status}")
    cutoff = stale_before(now, rules)
    with db.session() as session:
        result = session.execute(
            update(QueueItemRow)
            .where(
                QueueItemRow.id == item_id,
                QueueItemRow.version == expected,
                QueueItemRow.status == item.status,
                claimable_by(moderator, cutoff),
            )
            .values(
                status=status,
                decided_by=moderator.name,
                decided_at=now,
                decision_code=reason_code,
                decision_reason=note,
                claimed_by=None,
                claimed_at=None,
                version=QueueItemRow.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            raise _refused(session, item_id, expected, moderator, cutoff, rules)
        action = ModerationActionRow(
            comment_id=item.comment_id,
            queue_item_id=item_id,
            content_hash=item.content_hash,
            from_status=item.status,
            to_status=status,
            reason=note,
            reason_code=reason_code,
            actor=moderator.name,
            scorer=snapshot.scorer,
            scores=snapshot.scores,
            created_at=now,
        )
        session.add(action)
        session.flush()
        site_actions.add_for_decision(session, action)
        return Decided(
            item_id=item_id,
            comment_id=snapshot.comment_id,
            from_status=item.status,
            status=status,
            version=expected + 1,
            action_id=action.id,
            actor=moderator.name,
            reason_code=reason_code,
            note=note,
            decided_at=now,
        )


def bulk_decide(
    db: Database,
    items: Sequence[tuple[int, int | None]],
    status: str,
    *,
    moderator: Moderator,
    now: datetime,
    rules: ReviewSettings,
    reason_code: str | None = None,
    note: str | None = None,
    codes_by_source: Mapping[str, Sequence[str]] | None = None,
) -> BulkOutcome:
    """Decide each (item id, expected version) on its own; items that can't be decided are reported, not fatal."""
    every_code = [*rules.reason_codes, *(code for codes in (codes_by_source or {}).values() for code in codes)]
    check_decision(status, reason_code, note, rules, codes=list(dict.fromkeys(every_code)))
    outcome = BulkOutcome()
    for item_id, version in items:
        try:
            outcome.decided.append(
                decide(
                    db,
                    item_id,
                    status,
                    moderator=moderator,
                    expected_version=version,
                    now=now,
                    rules=rules,
                    reason_code=reason_code,
                    note=note,
                    codes_by_source=codes_by_source,
                )
            )
        except QueueError as exc:
            outcome.refused.append((item_id, str(exc)))
    return outcome


def undo_last(db: Database, moderator: Moderator, now: datetime) -> Undone:
    """Revert `moderator`'s latest decision that is not undone yet, if nobody acted on that item since.

    The item goes back to the status it had, claimed by the moderator, so they can decide again.
    """
    with db.session() as session:
        last = session.scalars(
            select(ModerationActionRow)
            .where(
                ModerationActionRow.actor == moderator.name,
                ModerationActionRow.undoes_action_id.is_(None),
                ModerationActionRow.queue_item_id.is_not(None),
                ~_undone(ModerationActionRow.id),
            )
            .order_by(ModerationActionRow.id.desc())
            .limit(1)
        ).first()
        if last is None or last.queue_item_id is None or last.from_status is None:
            raise NothingToUndo(f"{moderator.name} has no decision left to undo")
        source = session.scalar(select(CommentRow.source).where(CommentRow.id == last.comment_id))
        if source is None or not moderator.may_see(source):
            raise NotAllowed(
                f"your last decision (item #{last.queue_item_id}) is on a source you no longer review; "
                "ask an admin to undo it"
            )
        item = session.get(QueueItemRow, last.queue_item_id)
        latest = session.scalar(
            select(ModerationActionRow.id)
            .where(ModerationActionRow.queue_item_id == last.queue_item_id)
            .order_by(ModerationActionRow.id.desc())
            .limit(1)
        )
        comment_id = session.scalar(select(CommentRow.external_id).where(CommentRow.id == last.comment_id)) or ""
    if item is None or latest != last.id or item.status != last.to_status:
        status = item.status if item else "gone"
        raise NothingToUndo(
            f"your last decision (item #{last.queue_item_id}, {last.to_status}) can't be undone: "
            f"it was changed since (now {status}{_by(item) if item else ''})"
        )
    with db.session() as session:
        release_others(session, moderator, keep=item.id)
        restored = _decision_before(session, item.id, last)
        result = session.execute(
            update(QueueItemRow)
            .where(
                QueueItemRow.id == item.id,
                QueueItemRow.version == item.version,
                QueueItemRow.status == last.to_status,
            )
            .values(
                status=last.from_status,
                claimed_by=moderator.name,
                claimed_at=now,
                version=QueueItemRow.version + 1,
                **restored,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            raise NothingToUndo(f"item #{item.id} changed while undoing your decision; open it and look again")
        action = ModerationActionRow(
            comment_id=last.comment_id,
            queue_item_id=item.id,
            content_hash=last.content_hash,
            from_status=last.to_status,
            to_status=last.from_status,
            reason=f"undo of action #{last.id}",
            actor=moderator.name,
            scorer=last.scorer,
            scores=last.scores,
            undoes_action_id=last.id,
            created_at=now,
        )
        session.add(action)
        session.flush()
        site_actions.add_for_decision(session, action)
        return Undone(
            item_id=item.id,
            comment_id=comment_id,
            undone_action_id=last.id,
            action_id=action.id,
            was=last.to_status,
            status=last.from_status,
            version=item.version + 1,
        )


def source_codes(
    source: str, rules: ReviewSettings, codes_by_source: Mapping[str, Sequence[str]] | None
) -> Sequence[str]:
    """The reason codes a rejection of `source`'s items may give: its own, else `rules.reason_codes`."""
    return (codes_by_source or {}).get(source, rules.reason_codes)


def check_decision(
    status: str,
    reason_code: str | None,
    note: str | None,
    rules: ReviewSettings,
    *,
    codes: Sequence[str] | None = None,
    source: str | None = None,
) -> tuple[str | None, str | None]:
    """The reason code and note, cleaned; raise QueueError on a bad status, reason or note. `codes`: the reasons
    allowed for the item's `source` (default: rules.reason_codes)."""
    if status not in DECISIONS:
        raise QueueError(f"unknown decision {status!r}: use one of {', '.join(DECISIONS)}")
    reason_code = (reason_code or "").strip() or None
    note = (note or "").strip() or None
    allowed = list(rules.reason_codes if codes is None else codes)
    listed = ", ".join(allowed)
    if status == QueueStatus.REJECTED and reason_code is None:
        raise QueueError(f"a rejection needs a reason: one of {listed}")
    if reason_code is not None and reason_code not in allowed:
        where = (
            f"reason_codes of source {source!r} in the config"
            if codes is not None and source is not None and list(codes) != list(rules.reason_codes)
            else "review.reason_codes in the config"
        )
        raise QueueError(f"unknown reason {reason_code!r}: use one of {listed} ({where})")
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise QueueError(f"a note is at most {NOTE_MAX_LENGTH} characters, this one has {len(note)}")
    return reason_code, note


def _snapshot(db: Database, item_id: int, moderator: Moderator) -> _Snapshot:
    with db.session() as session:
        check_visible(session, item_id, moderator)
        item = session.get_one(QueueItemRow, item_id)
        comment = session.get_one(CommentRow, item.comment_id)
        score = session.get(ScoreRow, item.score_id) if item.score_id else None
    scores: dict[str, Any] | None = None
    if score is not None:
        scores = all_scores(score.labels, score.attack_on_commenter)
    return _Snapshot(item, comment.external_id, comment.source, score.scorer_version if score else None, scores)


def _refused(
    session: Session, item_id: int, expected: int, moderator: Moderator, cutoff: datetime, rules: ReviewSettings
) -> Exception:
    row = session.get(QueueItemRow, item_id, populate_existing=True)
    if row is not None and row.version != expected:
        return StaleVersion(_changed(row))
    return refusal(session, item_id, moderator, cutoff, rules)


def _changed(item: QueueItemRow) -> str:
    return (
        f"item #{item.id} changed since you opened it: it is now {item.status}{_by(item)}. "
        "Nothing was saved; reload it and decide again"
    )


def _by(item: QueueItemRow) -> str:
    return f" by {item.decided_by}" if item.decided_by and item.status != QueueStatus.PENDING else ""


def _undone(action_id: Any) -> ColumnElement[bool]:
    undo = aliased(ModerationActionRow)
    return select(undo.id).where(undo.undoes_action_id == action_id).exists()


def _decision_before(session: Session, item_id: int, undone: ModerationActionRow) -> dict[str, Any]:
    """The item's decided_* columns as they were before `undone`: from the moderator action that set the
    status the item returns to, or empty when it returns to pending."""
    cleared: dict[str, Any] = {"decided_by": None, "decided_at": None, "decision_code": None, "decision_reason": None}
    if undone.from_status == QueueStatus.PENDING:
        return cleared
    earlier = session.scalars(
        select(ModerationActionRow)
        .where(
            ModerationActionRow.queue_item_id == item_id,
            ModerationActionRow.id < undone.id,
            ModerationActionRow.actor != SYSTEM_ACTOR,
            ModerationActionRow.undoes_action_id.is_(None),
            ModerationActionRow.to_status == undone.from_status,
            ~_undone(ModerationActionRow.id),
        )
        .order_by(ModerationActionRow.id.desc())
        .limit(1)
    ).first()
    if earlier is None:
        return cleared
    return {
        "decided_by": earlier.actor,
        "decided_at": earlier.created_at,
        "decision_code": earlier.reason_code,
        "decision_reason": earlier.reason,
    }
