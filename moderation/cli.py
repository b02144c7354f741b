"""The `moderation` command: a thin click layer over the same functions the flows and web UI use."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from moderation.errors import ModerationError

T = TypeVar("T")

# Nothing phones home, and a cold temporary Prefect server gets time to start.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML config file (default: $MODERATION_CONFIG or config/moderation.toml).",
    )(func)


def format_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output for people (text) or scripts (json).",
    )(func)


@click.group()
@click.version_option(package_name="comment-moderation")
def cli() -> None:
    """Self-hosted comment moderation: score comments, queue attacks and toxicity for moderators."""


@cli.command()
@config_option
def run(config_path: str | None) -> None:
    """Run the moderate flow once on the configured sources and print a summary."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from flows.moderate import moderate

    summary = _guard(lambda: moderate(config_path))
    for name, counts in summary.sources.items():
        click.echo(
            f"source {name}: {counts.new} new, {counts.updated} edited, {counts.unchanged} unchanged, "
            f"{counts.rejected} rejected"
        )
    for problem in summary.rejected:
        click.echo(f"  rejected {problem}")
    click.echo(f"scored {summary.scored} comments, flagged {summary.flagged} for review")
    for item in summary.flagged_items:
        click.echo(f"  [{item['id']}] {item['author']}: {_describe_reasons(item)}")
        click.echo(f"      {_shorten(item['text'])}")


@cli.group()
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

    entries = _guard(lambda: list_items(database(load_settings(config_path).database.url), status, limit))
    if output_format == "json":
        click.echo(json.dumps([entry.to_json() for entry in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        click.echo(f"no {status} items")
    for entry in entries:
        reasons = {"reasons": entry.reasons, "attack_target": entry.attack_target}
        click.echo(
            f"#{entry.id} p={entry.priority:.2f} [{entry.source}/{entry.comment_id}] {entry.author}: "
            f"{_describe_reasons(reasons)}"
        )
        click.echo(f"      {_shorten(entry.text)}")


@cli.command()
@config_option
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="JSONL file of comments (id, post_id, author, parent_id, created_at, text).",
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write JSON lines here instead of standard output.",
)
@click.option("--scorer", "scorer_name", default=None, help="Scorer name (default: scoring.scorer in the config).")
def score(config_path: str | None, input_path: str, output_path: str | None, scorer_name: str | None) -> None:
    """Score a JSONL file of comments, each with its thread; no database, no Prefect server."""
    from moderation.scoring.jsonl import score_file

    with _output(output_path) as out:
        report = _guard(lambda: score_file(Path(input_path), out, config_path=config_path, scorer_name=scorer_name))
    for rejected in report.rejected:
        click.echo(f"skipped {rejected.location}: {rejected.error}", err=True)
    click.echo(f"scored {report.scored} comments, flagged {report.flagged}, skipped {len(report.rejected)}", err=True)


def _output(path: str | None) -> Any:
    if path is None:
        return _NoClose(sys.stdout)
    return open(path, "w", encoding="utf-8")


class _NoClose:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __enter__(self) -> TextIO:
        return self.stream

    def __exit__(self, *_: object) -> None:
        self.stream.flush()


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except ModerationError as exc:
        raise click.ClickException(str(exc)) from exc


def _describe_reasons(item: dict[str, Any]) -> str:
    parts = [f"{label} {value:.2f}" for label, value in sorted(item["reasons"].items(), key=lambda kv: -kv[1])]
    if item.get("attack_target"):
        parts.append(f"attack on {item['attack_target']}")
    return ", ".join(parts)


def _shorten(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def main() -> None:
    cli()
