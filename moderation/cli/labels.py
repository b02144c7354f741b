"""`moderation export-labels`: moderators' decisions as labelled data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from moderation.cli.options import config_option, configured_database, output_option
from moderation.cli.terminal import echo


@click.command("export-labels")
@config_option
@output_option
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Only decisions made at or after this UTC date or time.",
)
def export_labels(config_path: str | None, output_path: str | None, since: datetime | None) -> None:
    """Write each approved or rejected item as one JSON line (text, thread ids, scores, decision, moderator)."""
    from moderation.review.export import export_labels as records

    db, _ = configured_database(config_path)
    start = since.replace(tzinfo=UTC) if since else None
    count = 0
    with click.open_file(output_path or "-", "w", encoding="utf-8") as out:
        for record in records(db, start):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    echo(f"exported {count} decisions", err=True)
