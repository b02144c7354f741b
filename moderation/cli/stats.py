"""`moderation stats` (the stats page's numbers) and `moderation tune thresholds` (thresholds from decisions)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from moderation.cli.options import config_option, configured_database, format_option, guard
from moderation.cli.terminal import echo, visible_name

DAY = click.DateTime(["%Y-%m-%d"])


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.command("stats")
@config_option
@format_option
@click.option("--since", type=DAY, default=None, help="First UTC day of the period (default: 29 days before --until).")
@click.option("--until", type=DAY, default=None, help="Last UTC day of the period, included (default: today).")
def stats(config_path: str | None, output_format: str, since: datetime | None, until: datetime | None) -> None:
    """Comments scored and flagged, decisions, time to decision, backlog, per-label precision, per moderator."""
    from moderation.review.stats import gather_stats, period_of

    db, settings = configured_database(config_path)
    period = guard(lambda: period_of(_day(since), _day(until), datetime.now(UTC)))
    found = guard(lambda: gather_stats(db, period, settings.policy.thresholds))
    if output_format == "json":
        click.echo(json.dumps(found.to_json(), ensure_ascii=False, indent=2))
        return
    for line in stats_lines(found):
        echo(line)


def stats_lines(found: Any) -> list[str]:
    lines = [
        f"period {found.period.first} to {found.period.last} (UTC days)",
        f"comments scored: {found.scored}",
        f"items flagged: {found.flagged}",
    ]
    lines += [f"  {label}: {count}" for label, count in found.flagged_by_label.items()]
    split = ", ".join(f"{status} {count}" for status, count in found.decisions.items())
    lines.append(f"decisions: {found.decided_total} ({split}; {found.undone} undone since)")
    if found.decided_items:
        lines.append(
            f"time to first decision over {found.decided_items} items: "
            f"median {_duration(found.decision_seconds_median)}, p90 {_duration(found.decision_seconds_p90)}"
        )
    else:
        lines.append("time to first decision: no item first decided in the period")
    points = found.backlog_points()
    lines.append(
        f"open items: {points[0][1]} at the start, {points[-1][1]} at the end (peak {max(n for _, n in points)})"
    )
    lines.append("precision of each label's flags (rejected / decided):")
    for row in found.precision:
        share = f"{row.precision:.1%}" if row.precision is not None else "-"
        lines.append(f"  {row.label}: {row.rejected}/{row.decided} {share}")
    if found.moderators:
        lines.append("per moderator (approved / rejected / escalated, undone):")
    for m in found.moderators:
        lines.append(f"  {visible_name(m.moderator)}: {m.approved} / {m.rejected} / {m.escalated}, {m.undone} undone")
    return lines


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.1f} min"
    return f"{minutes / 60:.1f} h"


@click.group()
def tune() -> None:
    """Tune the settings from moderators' decisions."""


@tune.command("thresholds")
@config_option
@format_option
@click.option(
    "--precision",
    "target",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.9,
    show_default=True,
    help="Share of a label's flags moderators should reject.",
)
@click.option(
    "--min-decisions",
    type=click.IntRange(1),
    default=30,
    show_default=True,
    help="Refuse a label with fewer approved or rejected items, and keep at least this many at the threshold.",
)
@click.option("--write-config", is_flag=True, help="Write the proposed thresholds into [policy.thresholds].")
def thresholds(
    config_path: str | None, output_format: str, target: float, min_decisions: int, write_config: bool
) -> None:
    """Propose per label the lowest threshold whose flags moderators rejected at the target precision."""
    from moderation.config import chosen_config_path
    from moderation.review.tuning import chosen, decided_scores, propose_thresholds, write_thresholds

    db, settings = configured_database(config_path)
    proposals = propose_thresholds(guard(lambda: decided_scores(db)), settings.policy.thresholds, target, min_decisions)
    if output_format == "json":
        click.echo(json.dumps([p.to_json() for p in proposals], indent=2))
    else:
        for proposal in proposals:
            echo(_proposal_line(proposal))
    if write_config:
        path = Path(chosen_config_path(config_path))
        values = chosen(proposals)
        guard(lambda: write_thresholds(path, values))
        echo(f"wrote {len(values)} thresholds into {path} [policy.thresholds]", err=True)


def _proposal_line(p: Any) -> str:
    now = f"now {p.current:g}" if p.current is not None else "not configured"
    if p.refused:
        return f"{p.label}: refused ({now}): {p.refused}"
    assert p.interval is not None
    floor = "; the lowest decided score, decisions cannot tell about lower ones" if p.at_floor else ""
    return (
        f"{p.label}: {p.threshold:.2f} ({now}): {p.kept_rejected}/{p.kept} rejected at or above it, precision "
        f"{p.precision:.3f} (95% {p.interval.low:.3f}-{p.interval.high:.3f}){floor}"
    )
