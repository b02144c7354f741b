"""Request parameters shared by pages and actions: queue filters carried through links and forms."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Query

from moderation.queue import QueueFilter


def filters_from_query(
    label: Annotated[str, Query(max_length=100)] = "",
    post: Annotated[str, Query(max_length=255)] = "",
    author: Annotated[str, Query(max_length=255)] = "",
) -> QueueFilter:
    return QueueFilter(label or None, post or None, author or None)


def filters_from_form(
    label: Annotated[str, Form(max_length=100)] = "",
    post: Annotated[str, Form(max_length=255)] = "",
    author: Annotated[str, Form(max_length=255)] = "",
) -> QueueFilter:
    return QueueFilter(label or None, post or None, author or None)


QueryFilters = Annotated[QueueFilter, Depends(filters_from_query)]
FormFilters = Annotated[QueueFilter, Depends(filters_from_form)]


def query_string(filters: QueueFilter, **extra: str | int) -> str:
    """`?label=...&author=...` for links that keep the moderator's filters (empty when there are none)."""
    params = {k: v for k, v in (("label", filters.label), ("post", filters.post), ("author", filters.author)) if v}
    params.update({k: str(v) for k, v in extra.items()})
    return f"?{urlencode(params)}" if params else ""
