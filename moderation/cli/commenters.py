"""`moderation commenter ...`: commenters' states (admins) and notes (moderators), per source."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from moderation.cli.options import actor_option, config_option, configured_database, format_option, guard
from moderation.cli.terminal import echo, visible_name
from moderation.models import COMMENTER_STATES

CLEAR = "none"
KEY_HELP = "KEY is user:<the source's user id> or email:<address or its sha256>."


@click.group()
def commenter() -> None:
    """Commenters per source: trusted, always_review or banned (admins), notes (moderators)."""


@commenter.command("show")
@config_option
@format_option
@click.argument("source")
@click.argument("key")
def commenter_show(config_path: str | None, output_format: str, source: str, key: str) -> None:
    """Show a commenter: state, counts, notes and changes. KEY is user:<id> or email:<address or sha256>."""
    from moderation.review.commenters import profile

    db, _ = configured_database(config_path)
    found = guard(lambda: profile(db, source, key, datetime.now(UTC)))
    _print(found, output_format)


@commenter.command("set")
@config_option
@format_option
@actor_option
@click.argument("source")
@click.argument("key")
@click.argument("state", type=click.Choice([*COMMENTER_STATES, CLEAR]))
@click.option("--days", type=click.IntRange(min=1), default=None, help="The state lapses after this many days.")
@click.option("--until", "until", default=None, help="The state lapses at this time (ISO 8601, UTC if no zone).")
@click.option("--note", default=None, help="Why (kept with the state and in the commenter's history).")
@click.option(
    "--reject-open",
    "reject_open",
    metavar="REASON",
    default=None,
    help="With banned: also reject the commenter's open queue items on SOURCE, with this reason code.",
)
def commenter_set(
    config_path: str | None,
    output_format: str,
    actor: str,
    source: str,
    key: str,
    state: str,
    days: int | None,
    until: str | None,
    note: str | None,
    reject_open: str | None,
) -> None:
    """Set a commenter's state (admins): trusted, always_review, banned, or none to clear it.
    KEY is user:<id> or email:<address or sha256>; only user: commenters can be trusted."""
    from moderation.review.accounts import active_moderator
    from moderation.review.commenters import set_state

    db, settings = configured_database(config_path)
    now = datetime.now(UTC)
    expires = _expiry(now, days, until)
    moderator = guard(lambda: active_moderator(db, actor))
    change = guard(
        lambda: set_state(
            db,
            source,
            key,
            None if state == CLEAR else state,
            actor=moderator,
            now=now,
            expires_at=expires,
            note=note,
            reject_open=reject_open,
            rules=settings.review,
            codes_by_source=settings.reason_codes_by_source(),
        )
    )
    if change.rejected is None:
        _print(change.commenter, output_format)
        return
    rejected = [decided.item_id for decided in change.rejected.decided]
    _print(change.commenter, output_format, {"rejected_items": rejected, "refused_items": change.rejected.refused})
    if output_format == "text":
        echo(f"rejected {len(rejected)} open item(s){': #' + ', #'.join(map(str, rejected)) if rejected else ''}")
        for item_id, why in change.rejected.refused:
            echo(f"  not rejected: #{item_id}: {why}")


@commenter.command("notes")
@config_option
@format_option
@actor_option
@click.argument("source")
@click.argument("key")
@click.argument("note", required=False)
def commenter_notes(
    config_path: str | None, output_format: str, actor: str, source: str, key: str, note: str | None
) -> None:
    """List moderators' notes on a commenter, or add NOTE. KEY is user:<id> or email:<address or sha256>."""
    from moderation.review.accounts import active_moderator
    from moderation.review.commenters import add_note, profile

    db, _ = configured_database(config_path)
    now = datetime.now(UTC)
    if note is None:
        found = guard(lambda: profile(db, source, key, now))
    else:
        moderator = guard(lambda: active_moderator(db, actor))
        found = guard(lambda: add_note(db, source, key, note, actor=moderator, now=now))
    if output_format == "json":
        click.echo(json.dumps([asdict(n) for n in found.notes], ensure_ascii=False, indent=2, default=_json_value))
        return
    if not found.notes:
        echo(f"no notes on {source} {found.key}")
    for event in found.notes:
        echo(f"{event.created_at:%Y-%m-%d %H:%M} {visible_name(event.actor)}: {visible_name(event.note or '')}")


@commenter.command("list")
@config_option
@format_option
@click.option("--state", type=click.Choice(COMMENTER_STATES), default=None, help="Only commenters in this state.")
@click.option("--source", default=None, help="Only commenters of this source.")
@click.option("--limit", default=100, show_default=True, help="At most this many commenters.")
def commenter_list(
    config_path: str | None, output_format: str, state: str | None, source: str | None, limit: int
) -> None:
    """List commenters whose state is in force, latest change first."""
    from moderation.review.commenters import list_commenters

    db, _ = configured_database(config_path)
    found = guard(lambda: list_commenters(db, datetime.now(UTC), state=state, source=source, limit=limit))
    if output_format == "json":
        click.echo(json.dumps([asdict(c) for c in found], ensure_ascii=False, indent=2, default=_json_value))
        return
    if not found:
        echo("no commenters with a state")
    for c in found:
        until = f" until {c.expires_at:%Y-%m-%d %H:%M} UTC" if c.expires_at else ""
        note = f": {visible_name(c.state_note)}" if c.state_note else ""
        echo(f"{c.source} {c.key} {c.state}{until} (by {visible_name(c.set_by or '?')}){note}")


def _print(found: Any, output_format: str, extra: dict[str, Any] | None = None) -> None:
    if output_format == "json":
        click.echo(json.dumps({**asdict(found), **(extra or {})}, ensure_ascii=False, indent=2, default=_json_value))
        return
    until = f" until {found.expires_at:%Y-%m-%d %H:%M} UTC" if found.expires_at else ""
    echo(f"{found.source} {found.key}: {found.state or 'no state'}{until}")
    if found.state and found.state_note:
        echo(f"  why: {visible_name(found.state_note)}")
    echo(
        f"  {found.comments} comments, {found.flagged} flagged, {found.rejected} rejected, "
        f"{found.reports} reader reports"
    )
    for event in found.events:
        what = (
            f"note: {visible_name(event.note or '')}"
            if event.action == "note"
            else f"state -> {event.state or CLEAR}{' (' + visible_name(event.note) + ')' if event.note else ''}"
        )
        echo(f"  {event.created_at:%Y-%m-%d %H:%M} {visible_name(event.actor)} {what}")


def _expiry(now: datetime, days: int | None, until: str | None) -> datetime | None:
    if days is not None and until is not None:
        raise click.UsageError("give --days or --until, not both")
    if days is not None:
        return now + timedelta(days=days)
    if until is None:
        return None
    try:
        when = datetime.fromisoformat(until)
    except ValueError:
        raise click.UsageError(f"--until {until!r} is not an ISO 8601 time, e.g. 2027-01-31T12:00") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
