"""`moderation run` (the flow once) and `moderation score` (stateless scoring of a file)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from moderation.cli.options import config_option, guard, output_option, warn_about_unused_label_settings
from moderation.cli.terminal import echo, visible_name
from moderation.errors import SourcesFailedError
from moderation.wording import describe_reasons, shorten

if TYPE_CHECKING:
    from moderation.pipeline import RunSummary

# Nothing phones home, and a cold temporary Prefect server gets time to start.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


@click.command()
@config_option
def run(config_path: str | None) -> None:
    """Run the moderate flow once on the configured sources and print a summary."""
    from moderation.config import load_settings

    guard(lambda: load_settings(config_path))  # a bad config is reported now, before Prefect starts a server
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    warn_about_unused_label_settings(config_path)
    from flows.moderate import moderate
    from moderation.stopping import STOPPED_EXIT_CODE, run_stoppable, stop_requested

    try:
        summary = run_stoppable(lambda: moderate(config_path))
    except SourcesFailedError as exc:
        if exc.summary is not None:
            _print_summary(exc.summary)  # type: ignore[arg-type]
        raise click.ClickException(f"{exc}; the other sources were processed") from exc
    if stop_requested():
        click.echo(
            f"stopped on SIGTERM: {summary.scored} comments scored and saved, "
            f"{summary.batches_left} batches left for the next run",
            err=True,
        )
        raise click.exceptions.Exit(STOPPED_EXIT_CODE)
    _print_summary(summary)


def _print_summary(summary: RunSummary) -> None:
    for name, counts in summary.sources.items():
        repaired = f", {counts.repaired} fields repaired" if counts.repaired else ""
        echo(
            f"source {name}: {counts.new} new, {counts.updated} edited, {counts.unchanged} unchanged, "
            f"{counts.rejected} rejected{repaired}"
            + (f", {counts.closed_by_site} queue items closed on the site" if counts.closed_by_site else "")
        )
    for name, why in summary.skipped.items():
        echo(f"source {name}: skipped, {why}")
    for problem in summary.rejected:
        echo(f"  rejected {problem}")
    for repair in summary.repaired:
        echo(f"  repaired {repair}")
    echo(f"scored {summary.scored} comments, flagged {summary.flagged} for review")
    if summary.scoring_failed:
        echo(
            f"could not score {summary.scoring_failed} comments (skipped until edited or retried): "
            "moderation failures list"
        )
    for failure in summary.scoring_failures:
        echo(f"  [{failure['id']}] ({failure['source']}) {shorten(failure['error'])}")
    for item in summary.flagged_items:
        reasons = describe_reasons(item.reasons, item.attack_target)
        echo(f"  [{item.comment_id}] {visible_name(item.author)}: {visible_name(reasons)}")
        echo(f"      {shorten(item.text)}")
    if summary.flagged > len(summary.flagged_items):
        echo(f"  ... and {summary.flagged - len(summary.flagged_items)} more: moderation queue list")
    sent = summary.alerts
    if summary.alerts_written or sent.delivered or sent.retrying or sent.failed:
        echo(
            f"alerts: {summary.alerts_written} written, {sent.delivered} sent, {sent.retrying} to retry, "
            f"{sent.failed} failed"
        )
    for error in sent.errors:
        echo(f"  {error}")


@click.command()
@config_option
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="JSONL file of comments (id, post_id, author, parent_id, created_at, text).",
)
@output_option
@click.option("--scorer", "scorer_name", default=None, help="Scorer name (default: scoring.scorer in the config).")
def score(config_path: str | None, input_path: str, output_path: str | None, scorer_name: str | None) -> None:
    """Score a JSONL file of comments, each with its thread; no database, no Prefect server.

    A line that is not a valid comment, or that the scorer fails on, is reported on standard error with
    its line number; every other line is written. Exit status 1 when anything was skipped, else 0.
    """
    from moderation.score_file import score_file

    warn_about_unused_label_settings(config_path, scorer_name)
    with click.open_file(output_path or "-", "w", encoding="utf-8") as out:
        report = guard(lambda: score_file(Path(input_path), out, config_path=config_path, scorer_name=scorer_name))
    for rejected in report.rejected:
        echo(f"skipped {rejected.location}: {rejected.error}", err=True)
    for location, error in report.failed:
        echo(f"could not score {location}: {error}", err=True)
    skipped = len(report.rejected) + len(report.failed)
    echo(f"scored {report.scored} comments, flagged {report.flagged}, skipped {skipped}", err=True)
    if skipped:
        sys.exit(1)
