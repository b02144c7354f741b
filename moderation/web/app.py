"""The review UI application: `create_app(settings)` wires pages, sessions, security headers, error pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moderation.config import Settings
from moderation.errors import (
    AlreadyClaimed,
    AlreadyDecided,
    NotAllowed,
    NothingToUndo,
    QueueError,
    StaleVersion,
    UnknownItem,
)
from moderation.links import ITEM, LOGIN, link
from moderation.review.accounts import session_secret
from moderation.storage.engine import Database, open_database
from moderation.web import actions, commenters, health, login, pages, stats
from moderation.web.errors import LoginRequired, WebError
from moderation.web.security import WebContext
from moderation.web.templating import STATIC_DIR, render

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
ROUTERS = (login.router, pages.router, actions.router, stats.router, commenters.router)
"""Every route of the UI; a test checks each one needs a login (the health checks, `health.router`, need none)."""
QUEUE_ERROR_STATUS: list[tuple[type[QueueError], int, str]] = [
    (UnknownItem, 404, "Not found"),
    (NotAllowed, 403, "Not allowed"),
    (StaleVersion, 409, "The item changed"),
    (AlreadyClaimed, 409, "Someone else is on it"),
    (AlreadyDecided, 409, "Already decided"),
    (NothingToUndo, 409, "Nothing to undo"),
    (QueueError, 400, "Not done"),
]


def create_app(
    settings: Settings, *, clock: Callable[[], datetime] | None = None, db: Database | None = None
) -> FastAPI:
    """The review UI for `settings` (database, review rules, web options); `clock` returns the time in UTC."""
    database = db or open_database(settings.database.url)
    context = WebContext(database, settings, clock or (lambda: datetime.now(UTC)))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if db is None:
            database.dispose()

    app = FastAPI(title="Moderation review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.context = context
    secret = settings.web.secret_key.get_secret_value() if settings.web.secret_key else None
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret or session_secret(database, context.now()),
        session_cookie="moderation_session",
        max_age=settings.web.session_hours * 3600,
        same_site="lax",
        https_only=settings.web.public_url().startswith("https://"),
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router)
    _add_error_pages(app)
    return app


class SecurityHeaders:
    """Adds a strict Content-Security-Policy and friends to every response (defence in depth: even text that
    escaped escaping could not run a script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = link(LOGIN) if request.method != "GET" else link(LOGIN, query=f"?next={quote(target, safe='')}")
        return RedirectResponse(location, status_code=303)

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> Response:
        return _error_page(request, exc.status_code, exc.title, str(exc))

    @app.exception_handler(QueueError)
    async def queue_error(request: Request, exc: QueueError) -> Response:
        status, title = next((s, t) for kind, s, t in QUEUE_ERROR_STATUS if isinstance(exc, kind))
        item_id = request.path_params.get("item_id")
        return _error_page(request, status, title, str(exc), item_href=link(ITEM, item_id=item_id) if item_id else None)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        return _error_page(request, exc.status_code, titles.get(exc.status_code, "Error"), message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = exc.errors()
        if any(p.get("loc", ("",))[0] == "path" for p in problems):
            return _error_page(request, 404, "Not found", "There is no such page.")
        fields = ", ".join(str(p.get("loc", ("", "?"))[-1]) for p in problems)
        return _error_page(request, 400, "Incomplete form", f"Missing or malformed: {fields}. Reload the page.")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error on %s %s", request.method, request.url.path, exc_info=exc)
        message = "Something went wrong on our side; it was logged. Try again, or tell an admin if it persists."
        return _error_page(request, 500, "Server error", message)


def _error_page(request: Request, status: int, title: str, message: str, item_href: str | None = None) -> Response:
    return render(request, "error.html", status, title=title, message=message, code=status, item_href=item_href)
