"""The numbers moderators steer by, over a period: what was scored and flagged, what moderators decided and how
fast, how the backlog moved, how often each label's flags were rejected, who decided what.

One owner for every figure: the stats page (`moderation.web.stats`) and `moderation stats` both call
`gather_stats`. Times are UTC; a period is [start, end), and days are UTC days.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from moderation.errors import QueueError
from moderation.models import OPEN_STATUSES, SYSTEM_ACTOR, QueueStatus
from moderation.storage.engine import Database
from moderation.storage.store import SITE_ACTOR
from moderation.storage.tables import ModerationActionRow, QueueItemRow, ScoreRow

DEFAULT_DAYS = 30
MAX_DAYS = 366
NOT_MODERATORS = (SYSTEM_ACTOR, SITE_ACTOR)
"""Audit actors that are not people: the pipeline, and the site closing a comment itself."""
FINAL = (QueueStatus.APPROVED.value, QueueStatus.REJECTED.value)
MODERATOR_DECISIONS = (QueueStatus.APPROVED.value, QueueStatus.REJECTED.value, QueueStatus.ESCALATED.value)


class BadPeriod(QueueError):
    """A period that ends before it starts, or is longer than MAX_DAYS."""


@dataclass(frozen=True)
class Period:
    """[start, end): from the start of `first` to the end of `last`, UTC days."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def period_of(since: date | None, until: date | None, now: datetime, default_days: int = DEFAULT_DAYS) -> Period:
    """The period from `since` to `until` (both days included); by default the `default_days` days up to today."""
    last = until or now.astimezone(UTC).date()
    first = since or last - timedelta(days=default_days - 1)
    if first > last:
        raise BadPeriod(f"the period starts ({first}) after it ends ({last}): --since must not be after --until")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod(f"a period covers at most {MAX_DAYS} days, {first} to {last} is {(last - first).days + 1}")
    return Period(first, last)


@dataclass(frozen=True)
class LabelPrecision:
    """Among items this label flagged that a moderator approved or rejected: how many were rejected."""

    label: str
    decided: int
    rejected: int

    @property
    def precision(self) -> float | None:
        return self.rejected / self.decided if self.decided else None


@dataclass(frozen=True)
class ModeratorCounts:
    moderator: str
    approved: int = 0
    rejected: int = 0
    escalated: int = 0
    undone: int = 0
    """Of this moderator's decisions in the period, how many were undone (they stay counted above)."""

    @property
    def decisions(self) -> int:
        return self.approved + self.rejected + self.escalated


@dataclass(frozen=True)
class DayCount:
    day: date
    value: int


@dataclass(frozen=True)
class Stats:
    period: Period
    scored: int
    """Comments given a score in the period (each comment once, whatever its revisions or scorers)."""
    flagged: int
    """Queue items created in the period (one per flagged comment revision)."""
    flagged_by_label: dict[str, int]
    """Of those, how many each label flagged (an item flagged by two labels counts for both)."""
    flagged_per_day: list[DayCount]
    decisions: dict[str, int]
    """Moderators' decisions made in the period, by the status they set (approved, rejected, escalated)."""
    undone: int
    """Of those decisions, how many were undone later."""
    decision_seconds_median: float | None
    decision_seconds_p90: float | None
    """Time from queueing to an item's first moderator decision, for items first decided in the period."""
    decided_items: int
    """How many items the two figures above are measured over."""
    backlog: list[DayCount]
    """Open items (pending or escalated) at the end of each day; the first entry is the start of the period."""
    precision: list[LabelPrecision]
    moderators: list[ModeratorCounts] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["period"] = {"since": self.period.first.isoformat(), "until": self.period.last.isoformat()}
        data["flagged_per_day"] = [{"day": d.day.isoformat(), "flagged": d.value} for d in self.flagged_per_day]
        data["backlog"] = [{"at": at.isoformat(), "open": n} for at, n in self.backlog_points()]
        data["precision"] = [{**asdict(p), "precision": p.precision} for p in self.precision]
        data["moderators"] = [{**asdict(m), "decisions": m.decisions} for m in self.moderators]
        return data

    def backlog_points(self) -> list[tuple[datetime, int]]:
        """(time, open items): the period's start, then the end of each day."""
        times = [self.period.start] + [
            datetime.combine(d + timedelta(days=1), time(), tzinfo=UTC) for d in self.period.days()
        ]
        return list(zip(times, (b.value for b in self.backlog), strict=True))

    @property
    def decided_total(self) -> int:
        return sum(self.decisions.values())


def gather_stats(db: Database, period: Period, labels: Iterable[str] = ()) -> Stats:
    """Every figure of the stats page and `moderation stats` for `period`; `labels` (the configured ones) are
    listed even when they flagged nothing."""
    with db.session() as session:
        flagged_items = _flagged_items(session, period)
        by_label = Counter(label for _, reasons in flagged_items for label in reasons)
        for label in labels:
            by_label.setdefault(label, 0)
        waits = _decision_waits(session, period)
        decisions, undone, moderators = _moderator_decisions(session, period)
        return Stats(
            period=period,
            scored=_scored(session, period),
            flagged=len(flagged_items),
            flagged_by_label=dict(sorted(by_label.items())),
            flagged_per_day=_per_day(period, (created for created, _ in flagged_items)),
            decisions={status: decisions.get(status, 0) for status in MODERATOR_DECISIONS},
            undone=undone,
            decision_seconds_median=statistics.median(waits) if waits else None,
            decision_seconds_p90=nearest_rank(waits, 0.9),
            decided_items=len(waits),
            backlog=_backlog(session, period),
            precision=label_precision(_decided_reasons(session, period), by_label),
            moderators=moderators,
        )


def nearest_rank(values: Sequence[float], share: float) -> float | None:
    """The smallest value with at least `share` of `values` at or below it (nearest-rank percentile)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def label_precision(decided: Iterable[tuple[str, dict[str, Any]]], labels: Iterable[str] = ()) -> list[LabelPrecision]:
    """Per label, from (final status, reasons) of decided items: rejected / decided among the items it flagged."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for label in labels:
        counts.setdefault(label, [0, 0])
    for status, reasons in decided:
        for label in reasons:
            counts[label][0] += 1
            counts[label][1] += status == QueueStatus.REJECTED
    return [LabelPrecision(label, decided=n, rejected=r) for label, (n, r) in sorted(counts.items())]


def _in(column: Any, period: Period) -> list[Any]:
    return [column >= period.start, column < period.end]


def _scored(session: Session, period: Period) -> int:
    query = select(func.count(func.distinct(ScoreRow.comment_id))).where(*_in(ScoreRow.scored_at, period))
    return int(session.scalar(query) or 0)


def _flagged_items(session: Session, period: Period) -> list[tuple[datetime, dict[str, Any]]]:
    query = select(QueueItemRow.created_at, QueueItemRow.reasons).where(*_in(QueueItemRow.created_at, period))
    return [(created, dict(reasons)) for created, reasons in session.execute(query)]


def _per_day(period: Period, times: Iterable[datetime]) -> list[DayCount]:
    counts = Counter(t.date() for t in times)
    return [DayCount(day, counts.get(day, 0)) for day in period.days()]


def _is_moderator_decision() -> list[Any]:
    return [
        ModerationActionRow.actor.not_in(NOT_MODERATORS),
        ModerationActionRow.undoes_action_id.is_(None),
        ModerationActionRow.queue_item_id.is_not(None),
        ModerationActionRow.to_status.in_(MODERATOR_DECISIONS),
    ]


def _moderator_decisions(session: Session, period: Period) -> tuple[Counter[str], int, list[ModeratorCounts]]:
    undo = aliased(ModerationActionRow)
    was_undone = select(undo.id).where(undo.undoes_action_id == ModerationActionRow.id).exists()
    query = select(ModerationActionRow.actor, ModerationActionRow.to_status, was_undone).where(
        *_is_moderator_decision(), *_in(ModerationActionRow.created_at, period)
    )
    by_status: Counter[str] = Counter()
    per_actor: dict[str, Counter[str]] = defaultdict(Counter)
    undone = 0
    for actor, status, is_undone in session.execute(query):
        by_status[status] += 1
        per_actor[actor][status] += 1
        per_actor[actor]["undone"] += bool(is_undone)
        undone += bool(is_undone)
    moderators = [
        ModeratorCounts(
            moderator=actor,
            approved=counts[QueueStatus.APPROVED.value],
            rejected=counts[QueueStatus.REJECTED.value],
            escalated=counts[QueueStatus.ESCALATED.value],
            undone=counts["undone"],
        )
        for actor, counts in per_actor.items()
    ]
    moderators.sort(key=lambda m: (-m.decisions, m.moderator))
    return by_status, undone, moderators


def _decision_waits(session: Session, period: Period) -> list[float]:
    """Seconds from queueing to the first moderator decision, for each item first decided in the period."""
    first = (
        select(ModerationActionRow.queue_item_id.label("item_id"), func.min(ModerationActionRow.created_at).label("at"))
        .where(*_is_moderator_decision())
        .group_by(ModerationActionRow.queue_item_id)
        .subquery()
    )
    query = (
        select(QueueItemRow.created_at, first.c.at)
        .join(first, first.c.item_id == QueueItemRow.id)
        .where(first.c.at >= period.start, first.c.at < period.end)
    )
    return [(decided - created).total_seconds() for created, decided in session.execute(query)]


def _backlog(session: Session, period: Period) -> list[DayCount]:
    """Open items at the period's start and at the end of each day: created, minus closed, plus reopened (an
    undo, or a site putting a comment back) up to then."""
    closing = [
        ModerationActionRow.queue_item_id.is_not(None),
        ModerationActionRow.from_status.in_(OPEN_STATUSES),
        ModerationActionRow.to_status.not_in(OPEN_STATUSES),
    ]
    reopening = [
        ModerationActionRow.queue_item_id.is_not(None),
        ModerationActionRow.from_status.not_in(OPEN_STATUSES),
        ModerationActionRow.to_status.in_(OPEN_STATUSES),
    ]
    before = [QueueItemRow.created_at < period.start]
    action_before = [ModerationActionRow.created_at < period.start]
    start = (
        int(session.scalar(select(func.count()).select_from(QueueItemRow).where(*before)) or 0)
        - int(
            session.scalar(select(func.count()).select_from(ModerationActionRow).where(*closing, *action_before)) or 0
        )
        + int(
            session.scalar(select(func.count()).select_from(ModerationActionRow).where(*reopening, *action_before)) or 0
        )
    )
    change: Counter[date] = Counter()
    for (created,) in session.execute(select(QueueItemRow.created_at).where(*_in(QueueItemRow.created_at, period))):
        change[created.date()] += 1
    for conditions, sign in ((closing, -1), (reopening, 1)):
        times = select(ModerationActionRow.created_at).where(*conditions, *_in(ModerationActionRow.created_at, period))
        for (at,) in session.execute(times):
            change[at.date()] += sign
    points = [DayCount(period.first, start)]
    running = start
    for day in period.days():
        running += change.get(day, 0)
        points.append(DayCount(day, running))
    return points


def _decided_reasons(session: Session, period: Period) -> list[tuple[str, dict[str, Any]]]:
    """(status, reasons) of items a moderator approved or rejected in the period, as they stand now."""
    return [(status, dict(reasons)) for status, reasons in session.execute(decided_items_query(period))]


def decided_items_query(period: Period | None = None) -> Any:
    """Items whose latest decision, by a moderator, approved or rejected them: (status, reasons)."""
    query = select(QueueItemRow.status, QueueItemRow.reasons).where(
        QueueItemRow.status.in_(FINAL),
        QueueItemRow.decided_by.is_not(None),
        QueueItemRow.decided_by.not_in(NOT_MODERATORS),
    )
    if period is not None:
        query = query.where(*_in(QueueItemRow.decided_at, period))
    return query
