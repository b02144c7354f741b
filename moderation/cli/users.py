"""`moderation user ...`: accounts for the review UI and for `queue ... --as`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from moderation.cli.options import config_option, format_option, guard
from moderation.cli.terminal import echo


@click.group()
def user() -> None:
    """Manage moderator and admin accounts."""


@user.command("add")
@config_option
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["moderator", "admin"]),
    default="moderator",
    show_default=True,
    help="Admins also decide escalated items.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_add(config_path: str | None, name: str, role: str, password_stdin: bool) -> None:
    """Create an account NAME; the password is asked for (twice) unless --password-stdin."""
    from moderation.config import load_settings
    from moderation.pipeline import database
    from moderation.review.accounts import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = guard(lambda: load_settings(config_path))
    db = guard(lambda: database(settings.database.url))
    guard(lambda: add_user(db, name, password, role, datetime.now(UTC)))
    echo(f"added {role} {name}")


@user.command("list")
@config_option
@format_option
def user_list(config_path: str | None, output_format: str) -> None:
    """List the accounts."""
    from moderation.config import load_settings
    from moderation.pipeline import database
    from moderation.review.accounts import list_users

    settings = guard(lambda: load_settings(config_path))
    accounts = list_users(guard(lambda: database(settings.database.url)))
    if output_format == "json":
        rows = [{"name": a.name, "role": a.role, "created_at": a.created_at.isoformat()} for a in accounts]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not accounts:
        echo("no users yet: add one with `moderation user add NAME --role admin`")
    for account in accounts:
        echo(f"{account.name}  {account.role}  since {account.created_at:%Y-%m-%d}")
