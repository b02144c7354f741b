"""The commenter forms on the item page: an admin sets a state, any moderator adds a note."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from moderation.errors import CommenterError
from moderation.links import COMMENTER_NOTE, COMMENTER_STATE, ITEM, link
from moderation.review.commenters import add_note, set_state
from moderation.review.queue import get_item, key_of
from moderation.web.forms import ItemFormId
from moderation.web.security import Context, Posting, flash

router = APIRouter()
CLEAR = "none"

State = Annotated[str, Form(max_length=20)]
Days = Annotated[int | None, Form(ge=1, le=36_500)]
Note = Annotated[str, Form(max_length=4000)]
RejectOpen = Annotated[str, Form(max_length=100)]


@router.post(COMMENTER_STATE)
def commenter_state(
    request: Request,
    moderator: Posting,
    context: Context,
    item_id: ItemFormId,
    state: State,
    days: Days = None,
    note: Note = "",
    reject_open: RejectOpen = "",
) -> Response:
    """The state of the item's author (the commenter is taken from the item, never from the form); a ban may
    also reject their open items, with the reason chosen."""
    source, key = _commenter_of(context, item_id)
    now = context.now()
    change = set_state(
        context.db,
        source,
        key,
        None if state == CLEAR else state,
        actor=moderator,
        now=now,
        expires_at=now + timedelta(days=days) if days else None,
        note=note,
        reject_open=reject_open or None,
        rules=context.settings.review,
        codes_by_source=context.settings.reason_codes_by_source(),
    )
    found = change.commenter
    message = f"{found.key} on {found.source} is now {found.state or 'without a state'}."
    if change.rejected is not None:
        refused = "".join(f" Not rejected: #{item} ({why})." for item, why in change.rejected.refused)
        message += f" Rejected {len(change.rejected.decided)} open item(s).{refused}"
    flash(request, message, "success")
    return RedirectResponse(link(ITEM, item_id=item_id), status_code=303)


@router.post(COMMENTER_NOTE)
def commenter_note(request: Request, moderator: Posting, context: Context, item_id: ItemFormId, note: Note) -> Response:
    source, key = _commenter_of(context, item_id)
    add_note(context.db, source, key, note, actor=moderator, now=context.now())
    flash(request, "Note added.", "success")
    return RedirectResponse(link(ITEM, item_id=item_id), status_code=303)


def _commenter_of(context: Context, item_id: int) -> tuple[str, str]:
    entry = get_item(context.db, item_id)
    key = key_of(entry)
    if key is None:
        raise CommenterError(
            f"the author of item #{item_id} is a guest known only by a display name: there is no commenter to change"
        )
    return entry.source, key
