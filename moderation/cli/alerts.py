"""`moderation alerts ...`: the alert outbox from the command line."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import click

from moderation.cli.options import config_option, configured_database, format_option, guard
from moderation.cli.terminal import echo
from moderation.storage.tables import ALERT_STATUSES
from moderation.wording import shorten


@click.group()
def alerts() -> None:
    """See, retry and deliver alerts to moderators."""


@alerts.command("list")
@config_option
@format_option
@click.option("--status", type=click.Choice(ALERT_STATUSES), default=None, help="Only alerts with this status.")
@click.option("--limit", default=50, show_default=True, help="At most this many alerts, newest first.")
def alerts_list(config_path: str | None, output_format: str, status: str | None, limit: int) -> None:
    """List alerts, newest first: what, which channel, status, attempts, last error."""
    from moderation.storage.outbox import list_alerts

    db, _ = configured_database(config_path)
    entries = guard(lambda: list_alerts(db, status, limit))
    if output_format == "json":
        click.echo(json.dumps([entry.to_json() for entry in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        echo(f"no {status} alerts" if status else "no alerts")
    for entry in entries:
        when = entry.delivered_at or entry.next_attempt_at
        label = "delivered" if entry.delivered_at else "next try" if entry.status == "pending" else "since"
        echo(
            f"#{entry.id} {entry.status} {entry.kind} via {entry.channel}: {entry.dedupe_key} "
            f"(attempts {entry.attempts}, {label} {when:%Y-%m-%d %H:%M}Z)"
        )
        if entry.last_error:
            echo(f"      {shorten(entry.last_error, 200)}")


@alerts.command("retry")
@config_option
@click.argument("alert_id", type=int)
def alerts_retry(config_path: str | None, alert_id: int) -> None:
    """Send a failed alert again with the next delivery run."""
    from moderation.storage.outbox import retry_failed

    db, _ = configured_database(config_path)
    entry = guard(lambda: retry_failed(db, alert_id, datetime.now(UTC)))
    echo(f"alert {entry.id} ({entry.kind} via {entry.channel}) will be sent by the next delivery run")


@alerts.command("deliver")
@config_option
def alerts_deliver(config_path: str | None) -> None:
    """Run the deliver-alerts flow once: check the backlog, send every alert that is due."""
    from moderation.cli.pipeline import PREFECT_DEFAULTS
    from moderation.config import load_settings

    guard(lambda: load_settings(config_path))  # a bad config is reported now, before Prefect starts a server
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from flows.alerts import deliver_alerts

    report = guard(lambda: deliver_alerts(config_path))
    echo(f"alerts: {report.delivered} sent, {report.retrying} to retry, {report.failed} failed")
    for error in report.errors:
        echo(f"  {error}")
