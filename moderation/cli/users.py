"""`moderation user ...`: accounts for the review UI and for `queue ... --as`."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from moderation.cli.options import config_option, configured_database, format_option, guard
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
    from moderation.review.accounts import add_user

    password = _read_password(password_stdin)
    db, _ = configured_database(config_path)
    guard(lambda: add_user(db, name, password, role, datetime.now(UTC), by=_operator()))
    echo(f"added {role} {name}")


@user.command("list")
@config_option
@format_option
def user_list(config_path: str | None, output_format: str) -> None:
    """List the accounts."""
    from moderation.review.accounts import list_users

    db, _ = configured_database(config_path)
    accounts = list_users(db)
    if output_format == "json":
        rows = [
            {"name": a.name, "role": a.role, "created_at": a.created_at.isoformat(), "active": a.active}
            for a in accounts
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not accounts:
        echo("no users yet: add one with `moderation user add NAME --role admin`")
    for account in accounts:
        state = "" if account.active else "  (disabled)"
        echo(f"{account.name}  {account.role}  since {account.created_at:%Y-%m-%d}{state}")


@user.command("disable")
@config_option
@click.argument("name")
def user_disable(config_path: str | None, name: str) -> None:
    """Disable account NAME: its web sessions end at once; logins and `--as NAME` are refused."""
    from moderation.review.accounts import disable_user

    _change(config_path, lambda db, now: disable_user(db, name, now, by=_operator()))
    echo(f"disabled {name}; their sessions are ended")


@user.command("enable")
@config_option
@click.argument("name")
def user_enable(config_path: str | None, name: str) -> None:
    """Enable account NAME again after `user disable`."""
    from moderation.review.accounts import enable_user

    _change(config_path, lambda db, now: enable_user(db, name, now, by=_operator()))
    echo(f"enabled {name}")


@user.command("delete")
@config_option
@click.argument("name")
def user_delete(config_path: str | None, name: str) -> None:
    """Delete account NAME and its sessions (its past decisions stay in the audit log)."""
    from moderation.review.accounts import delete_user

    _change(config_path, lambda db, now: delete_user(db, name, now, by=_operator()))
    echo(f"deleted {name}")


@user.command("set-password")
@config_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_set_password(config_path: str | None, name: str, password_stdin: bool) -> None:
    """Give account NAME a new password (asked for twice unless --password-stdin); its sessions end."""
    from moderation.review.accounts import set_password

    password = _read_password(password_stdin)
    _change(config_path, lambda db, now: set_password(db, name, password, now, by=_operator()))
    echo(f"new password set for {name}; their sessions are ended")


def _change(config_path: str | None, change: Callable[[Any, datetime], None]) -> None:
    db, _ = configured_database(config_path)
    guard(lambda: change(db, datetime.now(UTC)))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _operator() -> str:
    """Who changes accounts from the command line, for the audit: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
