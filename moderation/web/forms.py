"""Request parameters shared by pages and actions: queue filters carried through links and forms."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Path, Query

from moderation.review.queue import QueueFilter
from moderation.web.security import LoggedIn


def filters_from_query(
    moderator: LoggedIn,
    label: Annotated[str, Query(max_length=100)] = "",
    post: Annotated[str, Query(max_length=255)] = "",
    author: Annotated[str, Query(max_length=255)] = "",
    source: Annotated[str, Query(max_length=100)] = "",
) -> QueueFilter:
    """The filters in a page's address, limited to the sources the logged-in moderator may see."""
    return QueueFilter(label or None, post or None, author or None, source or None).seen_by(moderator)


def filters_from_form(
    moderator: LoggedIn,
    label: Annotated[str, Form(max_length=100)] = "",
    post: Annotated[str, Form(max_length=255)] = "",
    author: Annotated[str, Form(max_length=255)] = "",
    source: Annotated[str, Form(max_length=100)] = "",
) -> QueueFilter:
    """The filters a form carries, limited to the sources the logged-in moderator may see."""
    return QueueFilter(label or None, post or None, author or None, source or None).seen_by(moderator)


MAX_ROW_ID = 2**31 - 1
"""Ids and versions are 32-bit integer columns on PostgreSQL: anything larger names no row (and must not reach the
database, which would refuse it with an error)."""
ItemId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
"""A queue item id in a path; out of range answers 404 like any unknown page."""
Version = Annotated[int, Form(ge=1, le=MAX_ROW_ID)]
ItemFormId = Annotated[int, Form(ge=1, le=MAX_ROW_ID)]
"""A queue item id in a form."""

QueryFilters = Annotated[QueueFilter, Depends(filters_from_query)]
FormFilters = Annotated[QueueFilter, Depends(filters_from_form)]


def query_string(filters: QueueFilter, **extra: str | int) -> str:
    """`?label=...&author=...` for links that keep the moderator's filters (empty when there are none)."""
    chosen = (("label", filters.label), ("post", filters.post), ("author", filters.author), ("source", filters.source))
    params = {k: v for k, v in chosen if v}
    params.update({k: str(v) for k, v in extra.items()})
    return f"?{urlencode(params)}" if params else ""
