"""Logging in and out. Failed logins are rate-limited per user name and client address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from moderation.links import LOGIN, LOGOUT, link
from moderation.review.sessions import attempt_login
from moderation.web.security import (
    Context,
    Posting,
    check_csrf,
    flash,
    logged_in,
    login_session,
    logout_session,
    safe_next,
)
from moderation.web.templating import render

router = APIRouter()


@router.get(LOGIN)
def login_form(request: Request, context: Context, next: str = "") -> Response:
    if logged_in(request, context):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), error=None, username="")


@router.post(LOGIN, dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    context: Context,
    username: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    ip = request.client.host if request.client else "unknown"
    outcome = attempt_login(context.db, username, password, ip, context.now(), context.settings.web)
    if outcome.blocked_until is not None:
        until = outcome.blocked_until
        error = f"Too many failed logins for this user from your address. Try again after {until:%H:%M} UTC."
        return render(request, "login.html", 429, next=safe_next(next), error=error, username=username)
    moderator = outcome.moderator
    if moderator is None:
        error = "Wrong user name or password."
        return render(request, "login.html", 401, next=safe_next(next), error=error, username=username)
    login_session(request, context, moderator)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post(LOGOUT)
def logout(request: Request, moderator: Posting, context: Context) -> Response:
    logout_session(request, context)
    flash(request, f"{moderator.name} logged out.")
    return RedirectResponse(link(LOGIN), status_code=303)
