"""Who may call: an API key (from `moderation api-key create`), and how often.

The key comes as `?key=` (how Perspective clients send it), or the `X-API-Key` or `X-Goog-Api-Key` header,
or `Authorization: Bearer`. The rate limit counts requests per key in fixed windows of
`api.rate_window_seconds` in the database (one atomic upsert per request), so several worker processes,
even on several machines sharing a PostgreSQL database, share one count.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery

from moderation.api.problems import ApiProblem
from moderation.api.service import ScoringService
from moderation.storage.api_keys import ApiKey, active_key, count_request

KEY_HEADERS = ("x-api-key", "x-goog-api-key")
QUERY_KEY = APIKeyQuery(name="key", auto_error=False, description="An API key from `moderation api-key create`")
HEADER_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key, as a header")


def api_key_of(request: Request) -> str | None:
    key = request.query_params.get("key")
    for header in KEY_HEADERS:
        key = key or request.headers.get(header)
    authorization = request.headers.get("authorization", "")
    if not key and authorization.lower().startswith("bearer "):
        key = authorization[len("bearer ") :].strip()
    return key or None


async def require_key(
    request: Request,
    _query: Annotated[str | None, Security(QUERY_KEY)] = None,
    _header: Annotated[str | None, Security(HEADER_KEY)] = None,
) -> ApiKey:
    """The caller's key, counted against its rate limit; 401, 403 or 429 otherwise. (The two security
    parameters only show the key's places in /docs; `api_key_of` reads every place a key may be.)

    Async on purpose: its two small indexed queries run on the event loop (about a millisecond), which
    spares each request a round trip through the thread pool, costly when the cores are busy."""
    service: ScoringService = request.app.state.service
    given = api_key_of(request)
    if given is None:
        raise ApiProblem(
            401,
            "The request is missing an API key: pass ?key=KEY or the X-API-Key header "
            "(create one with `moderation api-key create NAME`)",
        )
    key = active_key(service.db, given)
    if key is None:
        raise ApiProblem(403, "API key not valid (unknown or revoked): pass a key from `moderation api-key list`")
    request.state.api_key_name = key.name
    _count(service, key)
    return key


def _count(service: ScoringService, key: ApiKey) -> None:
    api = service.settings.api
    if api.rate_limit == 0:
        return
    now = service.clock()
    window = api.rate_window_seconds
    window_start = int(now // window) * window
    if count_request(service.db, key.id, window_start) > api.rate_limit:
        retry_after = max(1, math.ceil(window_start + window - now))
        raise ApiProblem(
            429,
            f"Rate limit exceeded: {api.rate_limit} requests per {window} s for key {key.name!r} "
            f"(api.rate_limit); retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


async def require_ready(request: Request) -> ScoringService:
    """The service, once its scorer is loaded (async: no I/O, so no hop to the thread pool)."""
    service: ScoringService = request.app.state.service
    if not service.ready:
        why = service.load_error or "the scorer is still loading"
        raise ApiProblem(503, f"Not ready: {why}", headers={"Retry-After": "5"})
    return service
