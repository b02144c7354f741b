"""Who is asking: the signed session, login required on every page, CSRF tokens on every form, flash messages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Form, Request

from moderation.config import Settings
from moderation.review.accounts import get_moderator
from moderation.review.actors import Moderator
from moderation.storage.engine import Database
from moderation.web.errors import CsrfFailed, LoginRequired

MAX_FLASHES = 8


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
    """The logged-in moderator; anyone else is sent to the login page."""
    name = request.session.get("user")
    moderator = get_moderator(context.db, name) if isinstance(name, str) else None
    if moderator is None:
        request.session.clear()
        raise LoginRequired()
    request.state.moderator = moderator
    return moderator


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use; every form carries it."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    expected = request.session.get("csrf")
    if not (isinstance(expected, str) and csrf_token and secrets.compare_digest(expected, csrf_token)):
        raise CsrfFailed()


LoggedIn = Annotated[Moderator, Depends(current_moderator)]


def posting_moderator(moderator: LoggedIn, _: Annotated[None, Depends(check_csrf)]) -> Moderator:
    """For forms: the logged-in moderator (checked first), and the form's CSRF token."""
    return moderator


Posting = Annotated[Moderator, Depends(posting_moderator)]


def start_session(request: Request, moderator: Moderator) -> None:
    """A fresh session after login: nothing from before login survives, a new CSRF token."""
    request.session.clear()
    request.session["user"] = moderator.name
    request.session["csrf"] = secrets.token_urlsafe(32)


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
    return "/queue/pending"
