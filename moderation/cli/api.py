"""`moderation api` (the scoring service) and `moderation api-key ...` (its keys)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import click

from moderation.cli.options import (
    config_option,
    configured_database,
    format_option,
    guard,
    warn_about_unused_label_settings,
)
from moderation.cli.terminal import echo


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's own messages and our JSON access lines on standard error; uvicorn's access log stays off
    (it prints query strings, and `?key=` is a secret)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json_line": {"format": "%(message)s"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "json_line", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level},
            "uvicorn.error": {"level": level},
            "moderation": {"handlers": ["stderr"], "level": level, "propagate": False},
            "moderation.api.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
    }


@click.command()
@config_option
@click.option("--host", default=None, help="Listen on this address (default: api.host in the config).")
@click.option("--port", type=int, default=None, help="Listen on this port (default: api.port in the config).")
@click.option("--workers", type=int, default=None, help="Worker processes (default: api.workers in the config).")
@click.option("--scorer", "scorer_name", default=None, help="Scorer (default: api.scorer, else scoring.scorer).")
def api(
    config_path: str | None, host: str | None, port: int | None, workers: int | None, scorer_name: str | None
) -> None:
    """Serve the scoring API: /v1/score, Perspective's /v1alpha1/comments:analyze, Coral's /v1/coral/moderate.

    Each worker process loads the scorer once; SIGTERM stops taking connections and lets requests in
    flight finish (api.shutdown_timeout_seconds).
    """
    import uvicorn

    from moderation.config import chosen_config_path

    if config_path is not None:
        os.environ["MODERATION_CONFIG"] = config_path  # each worker process reads the config itself
    if scorer_name is not None:
        os.environ["MODERATION__API__SCORER"] = scorer_name
    _, settings = configured_database(config_path)  # migrated once here, not in every worker at once
    warn_about_unused_label_settings(config_path, scorer_name or settings.api.scorer)
    chosen_workers = workers or settings.api.workers
    bind_host, bind_port = host or settings.api.host, port or settings.api.port
    echo(
        f"scoring API on http://{bind_host}:{bind_port} ({chosen_workers} workers, config "
        f"{chosen_config_path(config_path)}; docs at /docs; Ctrl+C stops it)",
        err=True,
    )
    uvicorn.run(
        "moderation.api.app:app_from_environment",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=chosen_workers,
        access_log=False,
        log_config=logging_config(),
        timeout_graceful_shutdown=int(settings.api.shutdown_timeout_seconds),
    )


@click.group("api-key")
def api_key() -> None:
    """Manage the keys that callers of `moderation api` pass (?key= or X-API-Key)."""


@api_key.command("create")
@config_option
@click.argument("name")
def api_key_create(config_path: str | None, name: str) -> None:
    """Create a key called NAME and print it; only its hash is stored, so copy it now."""
    from moderation.storage.api_keys import create_api_key

    _, key = guard(lambda: create_api_key(_database(config_path), name, datetime.now(UTC)))
    echo(f"created API key {name} (shown once, only its hash is kept):", err=True)
    click.echo(key)


@api_key.command("revoke")
@config_option
@click.argument("name")
def api_key_revoke(config_path: str | None, name: str) -> None:
    """Revoke the key called NAME: every worker refuses it from its next request."""
    from moderation.storage.api_keys import revoke_api_key

    revoked = guard(lambda: revoke_api_key(_database(config_path), name, datetime.now(UTC)))
    assert revoked.revoked_at is not None
    echo(f"revoked API key {name} at {revoked.revoked_at.isoformat(timespec='seconds')}")


@api_key.command("list")
@config_option
@format_option
def api_key_list(config_path: str | None, output_format: str) -> None:
    """List the keys: name, first characters, created, revoked."""
    from moderation.storage.api_keys import list_api_keys

    keys = guard(lambda: list_api_keys(_database(config_path)))
    if output_format == "json":
        rows = [
            {
                "name": k.name,
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in keys
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not keys:
        echo("no API keys yet: create one with `moderation api-key create NAME`")
    for k in keys:
        state = f"revoked {k.revoked_at.isoformat(timespec='seconds')}" if k.revoked_at else "active"
        echo(f"{k.name}  {k.prefix}...  created {k.created_at.isoformat(timespec='seconds')}  {state}")


def _database(config_path: str | None) -> Any:
    return configured_database(config_path)[0]
