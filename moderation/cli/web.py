"""`moderation web`: serve the review UI."""

from __future__ import annotations

import click

from moderation.cli.options import config_option, configured_database, guard
from moderation.cli.terminal import echo


@click.command()
@config_option
@click.option("--host", default=None, help="Listen on this address (default: web.host in the config).")
@click.option("--port", type=int, default=None, help="Listen on this port (default: web.port in the config).")
def web(config_path: str | None, host: str | None, port: int | None) -> None:
    """Serve the review UI for moderators (log in with an account from `moderation user add`)."""
    import uvicorn

    from moderation.review.accounts import list_users
    from moderation.web import create_app

    db, settings = configured_database(config_path)
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = settings.model_copy(update={"web": settings.web.model_copy(update=updates)})
    app = guard(lambda: create_app(settings, db=db))
    if not list_users(db):
        echo("no accounts yet: create one with `moderation user add NAME --role admin`", err=True)
    echo(f"review UI on {settings.web.public_url()} (Ctrl+C stops it)", err=True)
    uvicorn.run(app, host=settings.web.host, port=settings.web.port, proxy_headers=True, log_level="info")
