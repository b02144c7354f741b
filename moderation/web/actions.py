"""The forms: decide on an item, decide a selection, undo one's last decision, release an item."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from moderation.errors import QueueError
from moderation.links import BULK, DECIDE, DEFAULT_QUEUE, ITEM, QUEUE, RELEASE, UNDO, link
from moderation.models import QueueStatus
from moderation.review import bulk_decide, claim_next, decide, release, undo_last
from moderation.review.queue import QueueFilter, check_status
from moderation.web.forms import MAX_ROW_ID, FormFilters, ItemId, Version, query_string
from moderation.web.security import Context, Posting, flash

router = APIRouter()
VERBS = {status.value: status.value.capitalize() for status in QueueStatus}
MAX_REFUSALS_SHOWN = 5

Decision = Annotated[str, Form(max_length=20)]
ReasonCode = Annotated[str, Form(max_length=50)]
Note = Annotated[str, Form(max_length=4000)]


@router.post(DECIDE)
def decide_item(
    request: Request,
    item_id: ItemId,
    moderator: Posting,
    context: Context,
    filters: FormFilters,
    decision: Decision,
    version: Version,
    reason_code: ReasonCode = "",
    note: Note = "",
) -> Response:
    now, rules = context.now(), context.settings.review
    decided = decide(
        context.db,
        item_id,
        decision,
        moderator=moderator,
        expected_version=version,
        now=now,
        rules=rules,
        reason_code=reason_code,
        note=note,
    )
    flash(request, f"{VERBS[decided.status]} item #{item_id} ({decided.comment_id}).", "success")
    following = claim_next(context.db, moderator, now, rules, status=decided.from_status, filters=filters)
    return _next_page(request, following.id if following else None, decided.from_status, filters)


@router.post(RELEASE)
def release_item(
    request: Request, item_id: ItemId, moderator: Posting, context: Context, filters: FormFilters
) -> Response:
    if release(context.db, item_id, moderator):
        flash(request, f"Released item #{item_id}: another moderator may take it.")
    return RedirectResponse(link(QUEUE, query=query_string(filters), status=DEFAULT_QUEUE), status_code=303)


@router.post(BULK)
def bulk(
    request: Request,
    moderator: Posting,
    context: Context,
    filters: FormFilters,
    decision: Decision,
    status: Annotated[str, Form(max_length=20)] = QueueStatus.PENDING.value,
    items: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    reason_code: ReasonCode = "",
    note: Note = "",
) -> Response:
    check_status(status)
    back = RedirectResponse(link(QUEUE, query=query_string(filters), status=status), status_code=303)
    if not items:
        flash(request, "Nothing selected: tick items (or press x on them) first.", "warning")
        return back
    outcome = bulk_decide(
        context.db,
        _selection(items),
        decision,
        moderator=moderator,
        now=context.now(),
        rules=context.settings.review,
        reason_code=reason_code,
        note=note,
    )
    if outcome.decided:
        flash(request, f"{VERBS[decision]} {len(outcome.decided)} of {len(items)} selected items.", "success")
    for item_id, why in outcome.refused[:MAX_REFUSALS_SHOWN]:
        flash(request, f"Item #{item_id} left alone: {why}", "warning")
    if len(outcome.refused) > MAX_REFUSALS_SHOWN:
        flash(request, f"{len(outcome.refused) - MAX_REFUSALS_SHOWN} more items left alone.", "warning")
    return back


@router.post(UNDO)
def undo(request: Request, moderator: Posting, context: Context) -> Response:
    undone = undo_last(context.db, moderator, context.now())
    flash(
        request,
        f"Undid your {undone.was} decision on item #{undone.item_id} ({undone.comment_id}); "
        f"it is {undone.status} again.",
        "success",
    )
    return RedirectResponse(link(ITEM, item_id=undone.item_id), status_code=303)


def _selection(items: list[str]) -> list[tuple[int, int | None]]:
    """Checkbox values are "item id:version"."""
    selection: list[tuple[int, int | None]] = []
    for value in items:
        item_id, _, version = value.partition(":")
        if not _row_id(item_id) or not _row_id(version):
            raise QueueError(f"bad selection {value!r}: reload the queue page and select again")
        selection.append((int(item_id), int(version)))
    return selection


def _row_id(value: str) -> bool:
    return value.isdigit() and 1 <= int(value) <= MAX_ROW_ID


def _next_page(request: Request, item_id: int | None, status: str, filters: QueueFilter) -> Response:
    qs = query_string(filters)
    if item_id is None:
        matching = " matching the filter" if not filters.is_empty() else ""
        flash(request, f"No more {status} items{matching} to review.")
        return RedirectResponse(link(QUEUE, query=qs, status=status), status_code=303)
    return RedirectResponse(link(ITEM, query=qs, item_id=item_id), status_code=303)
