"""`moderation queue ...`: the review queue from the command line."""

from __future__ import annotations

import json

import click

from moderation.cli.options import config_option, describe_reasons, format_option, guard, shorten


@click.group()
def queue() -> None:
    """Read and work the review queue."""


@queue.command("list")
@config_option
@format_option
@click.option("--status", default="pending", show_default=True, help="pending, approved, rejected or escalated.")
@click.option("--limit", default=50, show_default=True, help="At most this many items.")
def queue_list(config_path: str | None, output_format: str, status: str, limit: int) -> None:
    """List queue items, most severe first."""
    from moderation.config import load_settings
    from moderation.pipeline import database
    from moderation.queue import list_items

    entries = guard(lambda: list_items(database(load_settings(config_path).database.url), status, limit))
    if output_format == "json":
        click.echo(json.dumps([entry.to_json() for entry in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        click.echo(f"no {status} items")
    for entry in entries:
        reasons = {"reasons": entry.reasons, "attack_target": entry.attack_target}
        click.echo(
            f"#{entry.id} p={entry.priority:.2f} [{entry.source}/{entry.comment_id}] {entry.author}: "
            f"{describe_reasons(reasons)}"
        )
        click.echo(f"      {shorten(entry.text)}")
