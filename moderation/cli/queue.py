"""`moderation queue ...`: the review queue from the command line, for people and scripts."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import click

from moderation.cli.options import (
    actor_option,
    config_option,
    configured_database,
    filter_options,
    format_option,
    guard,
)
from moderation.cli.terminal import echo, visible_name
from moderation.errors import QueueError
from moderation.models import DECISION_VERBS, QueueStatus
from moderation.wording import describe_reasons, shorten


@click.group()
def queue() -> None:
    """Read and work the review queue."""


@queue.command("list")
@config_option
@format_option
@filter_options
@click.option(
    "--status", default=QueueStatus.PENDING.value, show_default=True, help="pending, approved, rejected or escalated."
)
@click.option("--limit", default=50, show_default=True, help="At most this many items.")
def queue_list(
    config_path: str | None,
    output_format: str,
    label: str | None,
    post: str | None,
    author: str | None,
    status: str,
    limit: int,
) -> None:
    """List queue items, most severe first."""
    from moderation.review.queue import QueueFilter, list_items

    db, _ = configured_database(config_path)
    entries = guard(lambda: list_items(db, status, limit, QueueFilter(label, post, author)))
    if output_format == "json":
        click.echo(json.dumps([entry.to_json() for entry in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        echo(f"no {status} items")
    for entry in entries:
        echo(
            f"#{entry.id} p={entry.priority:.2f} [{entry.source}/{entry.comment_id}] {visible_name(entry.author)}: "
            f"{visible_name(describe_reasons(entry.reasons, entry.attack_target))}"
        )
        if entry.post_title:
            echo(f"      on {shorten(entry.post_title, 80)}")
        echo(f"      {shorten(entry.text)}")


@queue.command("show")
@config_option
@format_option
@click.argument("item_id", type=int)
def queue_show(config_path: str | None, output_format: str, item_id: int) -> None:
    """Show one item: scores, the text with its evidence [[marked]], the thread, the author's history, the audit."""
    from moderation.review import audit_for, author_history, thread_for
    from moderation.review.queue import get_item

    db, _ = configured_database(config_path)
    entry = guard(lambda: get_item(db, item_id))
    thread = thread_for(db, entry)
    history = author_history(db, entry.source, entry.author, author_id=entry.author_id, exclude=entry.comment_id)
    trail = audit_for(db, entry)
    if output_format == "json":
        data = {"item": entry.to_json(), "thread": asdict(thread), "history": asdict(history), "audit": trail}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_value))
        return
    _print_card(entry, thread, history, trail)


def _decision_command(status: str, summary: str) -> click.Command:
    @click.command(DECISION_VERBS[status], help=summary)
    @config_option
    @format_option
    @actor_option
    @click.argument("items", nargs=-1, required=True, metavar="ID[:VERSION]...")
    @click.option(
        "--reason",
        "reason_code",
        default=None,
        help="Reason code from review.reason_codes in the config (required to reject).",
    )
    @click.option("--note", default=None, help="Free text for the audit log.")
    def command(
        config_path: str | None,
        output_format: str,
        actor: str,
        items: tuple[str, ...],
        reason_code: str | None,
        note: str | None,
    ) -> None:
        from moderation.review import bulk_decide

        db, settings = configured_database(config_path)
        moderator = _moderator(db, actor)
        selection = guard(lambda: _selection(items))
        outcome = guard(
            lambda: bulk_decide(
                db,
                selection,
                status,
                moderator=moderator,
                now=datetime.now(UTC),
                rules=settings.review,
                reason_code=reason_code,
                note=note,
            )
        )
        if len(items) == 1 and outcome.refused:
            raise click.ClickException(outcome.refused[0][1])
        if output_format == "json":
            refused = [{"item_id": item_id, "error": why} for item_id, why in outcome.refused]
            data = {"decided": [d.to_json() for d in outcome.decided], "refused": refused}
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            for decided in outcome.decided:
                echo(f"{decided.status} #{decided.item_id} ({decided.comment_id}), now version {decided.version}")
            for item_id, why in outcome.refused:
                echo(f"not decided #{item_id}: {why}", err=True)
        if outcome.refused:
            raise click.ClickException(f"{len(outcome.refused)} of {len(items)} items were not decided")

    return command


queue.add_command(_decision_command(QueueStatus.APPROVED, "Approve items: the comments may stay up."))
queue.add_command(_decision_command(QueueStatus.REJECTED, "Reject items with a --reason code: the comments should go."))
queue.add_command(_decision_command(QueueStatus.ESCALATED, "Escalate items to an admin."))


@queue.command("undo")
@config_option
@format_option
@actor_option
def queue_undo(config_path: str | None, output_format: str, actor: str) -> None:
    """Undo the moderator's last decision, if nobody changed that item since."""
    from moderation.review import undo_last

    db, _ = configured_database(config_path)
    moderator = _moderator(db, actor)
    undone = guard(lambda: undo_last(db, moderator, datetime.now(UTC)))
    if output_format == "json":
        click.echo(json.dumps(asdict(undone), ensure_ascii=False, indent=2))
    else:
        echo(f"undid {undone.was} on #{undone.item_id} ({undone.comment_id}): {undone.status} again")


def _moderator(db: Any, name: str) -> Any:
    from moderation.review.accounts import active_moderator

    return guard(lambda: active_moderator(db, name))


def _selection(items: tuple[str, ...]) -> list[tuple[int, int | None]]:
    selection: list[tuple[int, int | None]] = []
    for value in items:
        item_id, _, version = value.partition(":")
        if not item_id.isdigit() or (version and not version.isdigit()):
            raise QueueError(f"bad item {value!r}: give an id, or id:version as `queue list --format json` shows")
        selection.append((int(item_id), int(version) if version else None))
    return selection


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _print_card(entry: Any, thread: Any, history: Any, trail: Any) -> None:
    from moderation.review.present import highlight, label_name, score_chips

    echo(f"#{entry.id} {entry.status} (version {entry.version}) p={entry.priority:.2f}")
    post = entry.post_title or entry.post_id or "no post"
    echo(f"[{entry.source}/{entry.comment_id}] {visible_name(entry.author)} on {post}")
    if entry.site_link:
        echo(f"view on site: {entry.site_link}")
    if entry.attack_target:
        echo(f"attack on {visible_name(entry.attack_target)}")
    chips = score_chips(entry.labels or entry.reasons, entry.reasons)
    echo(", ".join(f"{c.name} {c.percent}%{' (flagged)' if c.flagged else ''}" for c in chips))
    if entry.claimed_by:
        echo(f"claimed by {visible_name(entry.claimed_by)} at {entry.claimed_at:%Y-%m-%d %H:%M} UTC")
    marked = "".join(f"[[{s.text}]]" if s.labels else s.text for s in highlight(entry.text, entry.evidence))
    echo("")
    echo(marked)
    evidence = sorted({label for s in highlight(entry.text, entry.evidence) for label in s.labels})
    if evidence:
        echo(f"  [[...]]: evidence for {', '.join(label_name(label) for label in evidence)}")
    echo("")
    echo(f"thread{': ' + thread.post_title if thread.post_title else ''}")
    for comment in [*thread.ancestors, *thread.before, thread.comment, *thread.replies, *thread.after]:
        here = ">" if comment is thread.comment else " "
        to = f" -> {visible_name(comment.parent_author)}" if comment.parent_author else ""
        state = f" [{comment.queue.status}]" if comment.queue else ""
        echo(f" {here} {comment.comment_id} {visible_name(comment.author)}{to}{state}: {shorten(comment.text, 80)}")
    echo("")
    echo(
        f"{visible_name(history.author)}: {history.comments} comments, {history.flagged} flagged, "
        f"{history.rejected} rejected"
    )
    for comment in history.recent:
        state = f" [{comment.queue.status}]" if comment.queue else ""
        echo(f"   {comment.comment_id}{state}: {shorten(comment.text, 80)}")
    echo("")
    echo("audit")
    for action in trail:
        reason = " ".join(p for p in (action.reason_code, action.reason) if p)
        echo(
            f"   {action.created_at:%Y-%m-%d %H:%M} {visible_name(action.actor)}: {action.from_status or 'new'} -> "
            f"{action.to_status}{' (' + reason + ')' if reason else ''}"
        )
