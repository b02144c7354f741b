"""`moderation failures ...`: comments the scorer could not score, and scoring them again."""

from __future__ import annotations

import json

import click

from moderation.cli.options import config_option, configured_database, format_option, guard
from moderation.cli.terminal import echo
from moderation.wording import shorten


@click.group()
def failures() -> None:
    """Comments the scorer raised on (recorded, skipped until edited or retried)."""


@failures.command("list")
@config_option
@format_option
def failures_list(config_path: str | None, output_format: str) -> None:
    """List comments the scorer failed on: source, comment id, scorer version, error."""
    from moderation.storage.failures import listed

    db, _ = configured_database(config_path)
    entries = guard(lambda: listed(db))
    if output_format == "json":
        rows = [
            {
                "id": entry.id,
                "source": entry.source,
                "comment_id": entry.comment_id,
                "scorer": entry.scorer,
                "scorer_version": entry.scorer_version,
                "error": entry.error,
                "failed_at": entry.failed_at.isoformat(),
            }
            for entry in entries
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not entries:
        echo("no scoring failures")
    for entry in entries:
        echo(
            f"#{entry.id} {entry.source}/{shorten(entry.comment_id, 60)} by {entry.scorer_version} "
            f"at {entry.failed_at:%Y-%m-%d %H:%M}Z: {shorten(entry.error, 200)}"
        )


@failures.command("retry")
@config_option
@click.argument("failure_ids", type=int, nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Retry every recorded failure.")
def failures_retry(config_path: str | None, failure_ids: tuple[int, ...], retry_all: bool) -> None:
    """Forget failures (by id from `failures list`, or --all) so the next run scores those comments again."""
    from moderation.storage.failures import forget

    if bool(failure_ids) == retry_all:
        raise click.UsageError("give failure ids or --all (not both)")
    db, _ = configured_database(config_path)
    removed = guard(lambda: forget(db, None if retry_all else list(failure_ids)))
    echo(f"{removed} comments will be scored again by the next run")
