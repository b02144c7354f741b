"""Readers' reports on stored comments.

Write paths:
  sync_from_source  (inside save_batch's transaction) the source's current reports replace what it gave before
  add               reports from elsewhere (an API call: `pipeline.add_reports`) accumulate
Either way, a comment already scored gets what its reports now do (a ReportRule): an open queue item carries
`reported` with the new count and its priority moves by the change in boost; a comment with no item for its
current text is queued once the reports reach `policy.reports.queue_at`. A decided item is left decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from moderation.errors import UnknownItem
from moderation.models import OPEN_STATUSES, REPORTED, SYSTEM_ACTOR, QueueStatus, Report, ReportRule
from moderation.storage.engine import Database
from moderation.storage.tables import CommentReportRow, CommentRow, ModerationActionRow, QueueItemRow, ScoreRow

FROM_SOURCE = "source"
FROM_API = "api"
REASON_LENGTH = 1000
REPORTER_LENGTH = 255


@dataclass(frozen=True)
class ReportEntry:
    """One report row, as moderators see it on the item."""

    count: int
    reason: str | None
    reporter: str | None
    via: str
    created_at: datetime


@dataclass(frozen=True)
class ReportOutcome:
    total: int
    """The comment's reports now, all sources together."""
    queue_item_id: int | None
    """Its open queue item for the current text, if it has one now."""
    queued: bool
    """Whether these reports put it in the queue."""


def add(
    db: Database, source: str, external_id: str, reports: Sequence[Report], now: datetime, rule: ReportRule
) -> ReportOutcome:
    """Add readers' reports to the stored comment `external_id` of `source`, and apply what they now do.

    Raises UnknownItem when no such comment is stored (the caller should retry after the next run reads it).
    """
    with db.session() as session:
        # FOR UPDATE (PostgreSQL): a run scoring this comment holds it until its decision is saved, so the
        # reports wait and then see that decision; SQLite: the save re-checks reports (store.Claim.save)
        comment = session.scalars(
            select(CommentRow)
            .where(CommentRow.source == source, CommentRow.external_id == external_id)
            .with_for_update()
        ).first()
        if comment is None:
            raise UnknownItem(f"no comment {external_id!r} from source {source!r} is stored yet")
        session.add_all(_rows(comment.id, reports, FROM_API, now))
        session.flush()
        return _apply(session, comment, now, rule)


def sync_from_source(
    session: Session, source: str, reported: dict[str, tuple[Report, ...]], now: datetime, rule: ReportRule | None
) -> None:
    """Replace the source-given reports of these comments (external id -> reports) with what the source says now."""
    if not reported:
        return
    rows = session.scalars(
        select(CommentRow).where(CommentRow.source == source, CommentRow.external_id.in_(list(reported)))
    )
    for comment in rows:
        given = [(r.count, r.reason, r.reporter) for r in reported[comment.external_id]]
        stored = session.execute(
            select(CommentReportRow.count, CommentReportRow.reason, CommentReportRow.reporter)
            .where(CommentReportRow.comment_id == comment.id, CommentReportRow.via == FROM_SOURCE)
            .order_by(CommentReportRow.id)
        )
        if [tuple(row) for row in stored] == given:
            continue
        session.execute(
            delete(CommentReportRow).where(
                CommentReportRow.comment_id == comment.id, CommentReportRow.via == FROM_SOURCE
            )
        )
        session.add_all(_rows(comment.id, reported[comment.external_id], FROM_SOURCE, now))
        session.flush()
        if rule is not None:
            _apply(session, comment, now, rule)


def recheck(session: Session, seen: dict[int, int], comment_ids: Iterable[int], now: datetime, rule: ReportRule) -> int:
    """After scoring: apply reports that arrived between reading these comments (with `seen` reports each) and
    saving their decisions. Returns how many comments had new reports."""
    current = counts_for(session, comment_ids)
    changed = [comment_id for comment_id, total in current.items() if total != seen.get(comment_id, 0)]
    for comment_id in changed:
        comment = session.get(CommentRow, comment_id)
        if comment is not None:
            _apply(session, comment, now, rule)
    return len(changed)


def counts_for(session: Session, comment_ids: Iterable[int]) -> dict[int, int]:
    """Comment row id -> its number of reports (comments without reports are left out)."""
    ids = list(comment_ids)
    if not ids:
        return {}
    query = (
        select(CommentReportRow.comment_id, func.sum(CommentReportRow.count))
        .where(CommentReportRow.comment_id.in_(ids))
        .group_by(CommentReportRow.comment_id)
    )
    return {comment_id: int(total or 0) for comment_id, total in session.execute(query)}


def reports_on(db: Database, source: str, external_id: str) -> list[ReportEntry]:
    """Who reported the comment, why, and when, oldest first."""
    query = (
        select(CommentReportRow)
        .join(CommentRow, CommentReportRow.comment_id == CommentRow.id)
        .where(CommentRow.source == source, CommentRow.external_id == external_id)
        .order_by(CommentReportRow.id)
    )
    with db.session() as session:
        return [
            ReportEntry(row.count, row.reason, row.reporter, row.via, row.created_at) for row in session.scalars(query)
        ]


def _rows(comment_id: int, reports: Iterable[Report], via: str, now: datetime) -> list[CommentReportRow]:
    return [
        CommentReportRow(
            comment_id=comment_id,
            count=report.count,
            reason=report.reason[:REASON_LENGTH] if report.reason else None,
            reporter=report.reporter[:REPORTER_LENGTH] if report.reporter else None,
            via=via,
            created_at=now,
        )
        for report in reports
        if report.count > 0
    ]


def _apply(session: Session, comment: CommentRow, now: datetime, rule: ReportRule) -> ReportOutcome:
    total = counts_for(session, [comment.id]).get(comment.id, 0)
    items = list(
        session.scalars(
            select(QueueItemRow).where(
                QueueItemRow.comment_id == comment.id, QueueItemRow.content_hash == comment.content_hash
            )
        )
    )
    if items:
        item = items[0]
        if item.status in OPEN_STATUSES:
            _update_open_item(session, item, total, rule)
            return ReportOutcome(total, item.id, False)
        return ReportOutcome(total, None, False)
    score = session.scalars(
        select(ScoreRow)
        .where(ScoreRow.comment_id == comment.id, ScoreRow.content_hash == comment.content_hash)
        .order_by(ScoreRow.id.desc())
        .limit(1)
    ).first()
    if score is None or not rule(total).queues:
        return ReportOutcome(total, None, False)  # not scored yet: scoring sees the reports
    item_id = _queue(session, comment, score, total, now, rule)
    return ReportOutcome(total, item_id, True)


def _update_open_item(session: Session, item: QueueItemRow, total: int, rule: ReportRule) -> None:
    """The open item's `reported` count and priority follow its reports (its version is left alone: nothing a
    moderator decides on has changed)."""
    before = int(item.reasons.get(REPORTED, 0))
    if before == total:
        return
    reasons = {**item.reasons, REPORTED: float(total)}
    priority = round(item.priority - rule(before).boost + rule(total).boost, 4)
    session.execute(
        update(QueueItemRow)
        .where(QueueItemRow.id == item.id, QueueItemRow.status.in_(OPEN_STATUSES))
        .values(reasons=reasons, priority=priority)
        .execution_options(synchronize_session=False)
    )


def _queue(session: Session, comment: CommentRow, score: ScoreRow, total: int, now: datetime, rule: ReportRule) -> int:
    item = QueueItemRow(
        comment_id=comment.id,
        content_hash=comment.content_hash,
        score_id=score.id,
        reasons={REPORTED: float(total)},
        attack_target=None,
        priority=round(1.0 + rule(total).boost, 4),
        status=QueueStatus.PENDING.value,
        version=1,
        created_at=now,
    )
    session.add(item)
    session.flush()
    session.add(
        ModerationActionRow(
            comment_id=comment.id,
            queue_item_id=item.id,
            content_hash=comment.content_hash,
            from_status=None,
            to_status=QueueStatus.PENDING.value,
            reason=f"{REPORTED}={total}; {total} reader reports",
            actor=SYSTEM_ACTOR,
            scorer=score.scorer_version,
            created_at=now,
        )
    )
    return item.id
