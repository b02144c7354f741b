"""The pages: queue views, the item (claimed on open), the audit log. Every one needs a login."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from moderation.errors import AlreadyClaimed, QueueError, UnknownItem
from moderation.links import AUDIT, DEFAULT_QUEUE, HOME, ITEM, QUEUE, link
from moderation.review import audit_for, author_history, claim, thread_for
from moderation.review.context import recent_actions
from moderation.review.queue import check_status, count_items, get_item, list_items, neighbours
from moderation.web.cards import CARD_TEXT_CHARS, make_card
from moderation.web.forms import ItemId, QueryFilters, query_string
from moderation.web.security import Context, LoggedIn
from moderation.web.templating import render

router = APIRouter()


@router.get(HOME)
def home(moderator: LoggedIn) -> Response:
    return RedirectResponse(link(QUEUE, status=DEFAULT_QUEUE), status_code=303)


@router.get(QUEUE)
def queue_page(
    request: Request,
    status: str,
    moderator: LoggedIn,
    context: Context,
    filters: QueryFilters,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    try:
        check_status(status)
    except QueueError as exc:
        raise UnknownItem(f"there is no {status!r} queue") from exc
    size, now = context.settings.review.page_size, context.now()
    entries = list_items(context.db, status, limit=size + 1, filters=filters, offset=(page - 1) * size)
    rules = context.settings.review
    return render(
        request,
        "queue.html",
        status=status,
        cards=[make_card(e, moderator, now, rules, fold_at=CARD_TEXT_CHARS) for e in entries[:size]],
        counts=count_items(context.db, filters),
        filters=filters,
        labels=sorted(context.settings.policy.thresholds),
        reason_codes=rules.reason_codes,
        page=page,
        more=len(entries) > size,
        qs=query_string(filters),
        prev_page_qs=query_string(filters, page=page - 1),
        next_page_qs=query_string(filters, page=page + 1),
        bulk_allowed=status in moderator.decidable(),
    )


@router.get(ITEM)
def item_page(
    request: Request, item_id: ItemId, moderator: LoggedIn, context: Context, filters: QueryFilters
) -> Response:
    now, rules = context.now(), context.settings.review
    entry = get_item(context.db, item_id)
    if entry.status in moderator.decidable():
        try:
            entry = claim(context.db, item_id, moderator, now, rules)
        except AlreadyClaimed:
            entry = get_item(context.db, item_id)  # shown read-only, with who holds it
    before, after = neighbours(context.db, entry, filters)
    qs = query_string(filters)
    return render(
        request,
        "item.html",
        card=make_card(entry, moderator, now, rules),
        thread=thread_for(context.db, entry),
        history=author_history(
            context.db, entry.source, entry.author, author_id=entry.author_id, exclude=entry.comment_id
        ),
        trail=audit_for(context.db, entry),
        reason_codes=rules.reason_codes,
        filters=filters,
        qs=qs,
        prev_href=link(ITEM, query=qs, item_id=before) if before else None,
        next_href=link(ITEM, query=qs, item_id=after) if after else None,
        back_href=link(QUEUE, query=qs, status=entry.status),
    )


@router.get(AUDIT)
def audit_page(
    request: Request, moderator: LoggedIn, context: Context, actor: Annotated[str, Query(max_length=255)] = ""
) -> Response:
    return render(request, "audit.html", trail=recent_actions(context.db, actor=actor or None, limit=200), actor=actor)
