"""Logging in and out. Failed logins are rate-limited per user name and client address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from moderation.review.accounts import authenticate, get_moderator, login_blocked_until, record_login
from moderation.web.security import Context, Posting, check_csrf, flash, safe_next, start_session
from moderation.web.templating import render

router = APIRouter()


@router.get("/login")
def login_form(request: Request, context: Context, next: str = "") -> Response:
    name = request.session.get("user")
    if isinstance(name, str) and get_moderator(context.db, name) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), error=None, username="")


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    context: Context,
    username: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    ip = request.client.host if request.client else "unknown"
    now, web = context.now(), context.settings.web
    blocked_until = login_blocked_until(context.db, username, ip, now, web)
    if blocked_until is not None:
        error = f"Too many failed logins for this user from your address. Try again after {blocked_until:%H:%M} UTC."
        return render(request, "login.html", 429, next=safe_next(next), error=error, username=username)
    moderator = authenticate(context.db, username, password)
    record_login(context.db, username, ip, moderator is not None, now, web)
    if moderator is None:
        error = "Wrong user name or password."
        return render(request, "login.html", 401, next=safe_next(next), error=error, username=username)
    start_session(request, moderator)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, moderator: Posting) -> Response:
    request.session.clear()
    flash(request, f"{moderator.name} logged out.")
    return RedirectResponse("/login", status_code=303)
