"""The review UI's addresses. The web app declares its routes with these paths, and everything that links to
the UI (its pages, redirects and alerts) builds the link with `link`, so no link names a page that is not
there."""

from __future__ import annotations

from urllib.parse import quote

from moderation.models import QueueStatus

HOME = "/"
LOGIN = "/login"
LOGOUT = "/logout"
QUEUE = "/queue/{status}"
ITEM = "/items/{item_id}"
DECIDE = "/items/{item_id}/decide"
RELEASE = "/items/{item_id}/release"
BULK = "/bulk"
UNDO = "/undo"
AUDIT = "/audit"
COMMENTER_STATE = "/commenters/state"
COMMENTER_NOTE = "/commenters/notes"
STATS = "/stats"
HEALTH = "/healthz"
READY = "/readyz"
DEFAULT_QUEUE = QueueStatus.PENDING.value


def link(route: str, base_url: str = "", query: str = "", **params: str | int) -> str:
    """`route` with its {params} filled in (each quoted), after `base_url` (for links from outside the app, such
    as alerts) and before `query` ("?label=..." or "")."""
    path = route.format(**{name: quote(str(value), safe="") for name, value in params.items()})
    return f"{base_url.rstrip('/')}{path}{query}"
