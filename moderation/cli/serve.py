"""`moderation serve`: the moderate flow on the configured schedule, until stopped."""

from __future__ import annotations

import os
from pathlib import Path

import click

from moderation.cli.options import config_option, guard, warn_about_unused_label_settings
from moderation.cli.pipeline import PREFECT_DEFAULTS
from moderation.cli.terminal import echo
from moderation.config import DEFAULT_CONFIG_PATH, load_settings


@click.command()
@config_option
def serve(config_path: str | None) -> None:
    """Register the moderate flow as a Prefect deployment with the config's schedule and run it until stopped."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    path = _absolute(config_path)
    settings = guard(lambda: load_settings(path))
    warn_about_unused_label_settings(path)
    from flows.deployments import scheduled_deployment, serve_scheduled

    guard(lambda: scheduled_deployment(path))  # a bad schedule stops here, with the key named
    when = (
        f"every {settings.schedule.interval_seconds:g} s"
        if settings.schedule.interval_seconds
        else f"cron {', '.join(settings.schedule.cron)} ({settings.schedule.timezone})"
    )
    echo(f"serving moderate/{settings.schedule.name}: {when}; Ctrl-C stops (the schedule stays active)")
    if not os.environ.get("PREFECT_API_URL"):
        echo(
            "PREFECT_API_URL is not set: runs go to a temporary Prefect server that lives as long as this "
            "command (see README, Production setup)",
            err=True,
        )
    guard(lambda: serve_scheduled(path))


def _absolute(config_path: str | None) -> str | None:
    """The config file as an absolute path (runs may start elsewhere), or None for the built-in defaults."""
    chosen = config_path or os.environ.get("MODERATION_CONFIG")
    if chosen is None and not DEFAULT_CONFIG_PATH.exists():
        return None
    return str(Path(chosen or DEFAULT_CONFIG_PATH).resolve())
