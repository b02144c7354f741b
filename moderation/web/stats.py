"""The stats page: the period's numbers (`moderation.review.stats`) as tables and server-rendered SVG charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from moderation.links import STATS, link
from moderation.review.stats import BadPeriod, Stats, gather_stats, period_of
from moderation.web.charts import Chart, count_bars, day_bars, day_line, share_bars
from moderation.web.security import Context, LoggedIn
from moderation.web.templating import render

router = APIRouter()
QUICK_PERIODS = (7, 30, 90)


@dataclass(frozen=True)
class QuickLink:
    days: int
    href: str
    current: bool


@router.get(STATS)
def stats_page(
    request: Request,
    moderator: LoggedIn,
    context: Context,
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    now = context.now()
    period = period_of(_day(since, "since"), _day(until, "until"), now)
    found = gather_stats(context.db, period, context.settings.policy.thresholds)
    today = now.date()
    return render(
        request,
        "stats.html",
        stats=found,
        charts=charts_for(found),
        durations={"median": duration(found.decision_seconds_median), "p90": duration(found.decision_seconds_p90)},
        label_rows=label_rows(found),
        since=period.first.isoformat(),
        until=period.last.isoformat(),
        quick=[_quick(days, today, period.first, period.last) for days in QUICK_PERIODS],
    )


def charts_for(found: Stats) -> list[Chart]:
    """The page's charts, in order: flagged per day, open items, decisions, precision per label."""
    flagged = [(d.day.strftime("%m-%d"), d.value) for d in found.flagged_per_day]
    backlog = [(at.strftime("%m-%d"), n) for at, n in found.backlog_points()]
    decisions = [(status, count, f"status-{status}") for status, count in found.decisions.items()]
    precision = [
        (p.label, p.precision, f"{p.rejected}/{p.decided} rejected" if p.decided else "no decisions")
        for p in found.precision
    ]
    return [
        day_bars("flagged", "Items flagged per day", flagged),
        day_line("backlog", "Open items (pending or escalated) at 00:00 UTC", backlog),
        count_bars("decisions", "Moderators' decisions", decisions),
        share_bars("precision", "Precision of each label's flags: rejected among approved or rejected", precision),
    ]


@dataclass(frozen=True)
class LabelRow:
    label: str
    flagged: int
    decided: int
    rejected: int
    precision: str


def label_rows(found: Stats) -> list[LabelRow]:
    """One row per label: flagged in the period, and the precision of its decided flags."""
    return [
        LabelRow(
            p.label,
            found.flagged_by_label.get(p.label, 0),
            p.decided,
            p.rejected,
            f"{p.precision:.1%}" if p.precision is not None else "–",
        )
        for p in found.precision
    ]


def duration(seconds: float | None) -> str:
    """ "42 min", "3.5 h", "2.1 days", or "–" for none."""
    if seconds is None:
        return "–"
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadPeriod(f"{name} must be a day as YYYY-MM-DD, got {value!r}") from None


def _quick(days: int, today: date, first: date, last: date) -> QuickLink:
    start = today - timedelta(days=days - 1)
    href = link(STATS, query=f"?since={start.isoformat()}&until={today.isoformat()}")
    return QuickLink(days, href, current=(first, last) == (start, today))
