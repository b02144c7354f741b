"""Who is asking: the server-side session behind the signed cookie, login required on every page, CSRF tokens
on every form, flash messages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Form, Request

from moderation.config import Settings
from moderation.links import DEFAULT_QUEUE, QUEUE, link
from moderation.review.actors import Moderator
from moderation.review.sessions import csrf_for, end_session, session_moderator, start_session
from moderation.storage.engine import Database
from moderation.web.errors import CsrfFailed, LoginRequired

MAX_FLASHES = 8
SESSION_KEY = "sid"
"""The cookie's only lasting entry: the session token (flash messages pass through it between two pages)."""


@dataclass(frozen=True)
class WebContext:
    """What every request handler shares: the database, the settings, the clock."""

    db: Database
    settings: Settings
    clock: Any
    """Returns the current time (UTC); tests pass their own."""

    def now(self) -> datetime:
        value: datetime = self.clock()
        return value


def web_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.context
    return context


Context = Annotated[WebContext, Depends(web_context)]


def current_moderator(request: Request, context: Context) -> Moderator:
    """The logged-in moderator; anyone else (no session, an ended one, a disabled account) goes to the login
    page."""
    token = request.session.get(SESSION_KEY)
    moderator = session_moderator(context.db, token, context.now()) if isinstance(token, str) else None
    if moderator is None:
        request.session.clear()
        raise LoginRequired()
    request.state.moderator = moderator
    return moderator


def csrf_token(request: Request) -> str:
    """The CSRF token every form carries: derived from the session after login; before it, a random one kept
    in the cookie for the login form."""
    token = request.session.get(SESSION_KEY)
    if isinstance(token, str):
        return csrf_for(token)
    anonymous = request.session.get("csrf")
    if not isinstance(anonymous, str):
        anonymous = secrets.token_urlsafe(32)
        request.session["csrf"] = anonymous
    return anonymous


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    token = request.session.get(SESSION_KEY)
    expected = csrf_for(token) if isinstance(token, str) else request.session.get("csrf")
    if not (isinstance(expected, str) and csrf_token and secrets.compare_digest(expected, csrf_token)):
        raise CsrfFailed()


LoggedIn = Annotated[Moderator, Depends(current_moderator)]


def posting_moderator(moderator: LoggedIn, _: Annotated[None, Depends(check_csrf)]) -> Moderator:
    """For forms: the logged-in moderator (checked first), and the form's CSRF token."""
    return moderator


Posting = Annotated[Moderator, Depends(posting_moderator)]


def login_session(request: Request, context: WebContext, moderator: Moderator) -> None:
    """A fresh session after login: nothing from before login survives; the cookie holds only the token."""
    token = start_session(context.db, moderator, context.now(), context.settings.web.session_hours)
    request.session.clear()
    request.session[SESSION_KEY] = token


def logout_session(request: Request, context: WebContext) -> None:
    """End the session on the server, so a copy of the cookie (and its CSRF token) is worthless."""
    token = request.session.get(SESSION_KEY)
    if isinstance(token, str):
        end_session(context.db, token, context.now())
    request.session.clear()


def logged_in(request: Request, context: WebContext) -> bool:
    token = request.session.get(SESSION_KEY)
    return isinstance(token, str) and session_moderator(context.db, token, context.now()) is not None


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message for the next page this moderator sees."""
    messages = list(request.session.get("flash", []))[-(MAX_FLASHES - 1) :]
    messages.append({"kind": kind, "text": message[:500]})
    request.session["flash"] = messages


def pop_flashes(request: Request) -> list[dict[str, str]]:
    if "session" not in request.scope:
        return []
    messages = request.session.pop("flash", [])
    return [m for m in messages if isinstance(m, dict)]


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path on this site, never another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return link(QUEUE, status=DEFAULT_QUEUE)
