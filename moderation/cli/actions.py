"""`moderation actions ...`: decisions on their way to the comments' sites."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from moderation.cli.options import config_option, configured_database, format_option, guard
from moderation.cli.terminal import echo
from moderation.storage.tables import SITE_ACTION_STATUSES
from moderation.wording import shorten


@click.group()
def actions() -> None:
    """See, retry and deliver decisions applied on the comments' sites."""


@actions.command("list")
@config_option
@format_option
@click.option("--status", type=click.Choice(SITE_ACTION_STATUSES), default=None, help="Only actions with this status.")
@click.option("--limit", default=50, show_default=True, help="At most this many actions, newest first.")
def actions_list(config_path: str | None, output_format: str, status: str | None, limit: int) -> None:
    """List site actions, newest first: decision, comment, status, attempts, what was done, last error."""
    from moderation.storage.site_actions import list_actions

    db, _ = configured_database(config_path)
    entries = guard(lambda: list_actions(db, status, limit))
    if output_format == "json":
        click.echo(json.dumps([entry.to_json() for entry in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        echo(f"no {status} actions" if status else "no actions")
    for entry in entries:
        done = f", applied {entry.applied}" if entry.applied else ""
        echo(
            f"#{entry.id} {entry.status} {entry.decision} by {entry.actor} on {entry.source} comment "
            f"{entry.comment_id} (attempts {entry.attempts}{done}, {entry.created_at:%Y-%m-%d %H:%M}Z)"
        )
        if entry.last_error:
            echo(f"      {shorten(entry.last_error, 200)}")


@actions.command("retry")
@config_option
@click.argument("action_id", type=int)
def actions_retry(config_path: str | None, action_id: int) -> None:
    """Apply a failed action again with the next delivery run."""
    from moderation.storage.site_actions import retry_failed

    db, _ = configured_database(config_path)
    entry = guard(lambda: retry_failed(db, action_id, datetime.now(UTC)))
    echo(f"action {entry.id} ({entry.decision} on {entry.source}) will be applied by the next delivery run")


@actions.command("deliver")
@config_option
def actions_deliver(config_path: str | None) -> None:
    """Apply every due decision on its site now (the moderate flow also does this at the end of each run)."""
    from moderation.config import load_settings
    from moderation.pipeline import deliver_site_actions

    settings = guard(lambda: load_settings(config_path))
    report = guard(lambda: deliver_site_actions(settings.database.url, settings.sources, settings.alerts.delivery))
    echo(
        f"actions: {report.applied} applied, {report.skipped} with nothing to do, "
        f"{report.retrying} to retry, {report.failed} failed"
    )
    for error in report.errors:
        echo(f"  {error}")
