"""The service application: `create_app(settings)` wires the endpoints, limits, access log and health.

Each worker process builds its own app (uvicorn's `--workers`, `app_from_environment`), opens the
database once and loads the scorer once, at startup, before it takes connections: the workers share the
listening socket, so a request waits in the backlog for a worker that is ready instead of failing. A
scorer that fails to load leaves the worker answering 503 with the reason (`/readyz`, scoring endpoints).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from moderation.api import coral, native, perspective, reports
from moderation.api.middleware import AccessLog, BodySizeLimit
from moderation.api.problems import ApiProblem, error_body, on_http_error, on_invalid_request, on_problem
from moderation.api.service import ScoringService
from moderation.config import Settings, load_settings
from moderation.errors import ModerationError
from moderation.storage.engine import Database, open_database

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, db: Database | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    """The service for `settings`; `db` defaults to settings.database.url (migrated), `clock` to time.time."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = db is None
        database = db if db is not None else open_database(settings.database.url)
        service = ScoringService(settings, database, clock)
        app.state.service = service
        await asyncio.to_thread(service.load)
        try:
            yield
        finally:
            if opened:
                database.dispose()

    app = FastAPI(
        title="Comment moderation API",
        summary="The moderation pipeline's scorer and policy over HTTP: native, Perspective-compatible, Coral Talk.",
        version="1",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(ModerationError, _on_moderation_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
    app.include_router(native.router)
    app.include_router(perspective.router)
    app.include_router(coral.router)
    app.include_router(reports.router)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["operations"], summary="The process answers")
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["operations"], summary="The scorer is loaded")
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(AccessLog)
    return app


def app_from_environment() -> FastAPI:
    """For uvicorn's workers (`factory=True`): the config from $MODERATION_CONFIG, read in each worker."""
    return create_app(load_settings())


def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readyz(request: Request) -> JSONResponse:
    service: ScoringService = request.app.state.service
    if not service.ready:
        why = service.load_error or "the scorer is still loading"
        return JSONResponse(error_body(503, f"Not ready: {why}"), status_code=503, headers={"Retry-After": "5"})
    try:
        service.db.ping()
    except ModerationError as exc:
        return JSONResponse(error_body(503, f"Not ready: {exc}"), status_code=503)
    assert service.scorer is not None
    body: dict[str, Any] = {"status": "ready", "scorer": f"{service.scorer.name}/{service.scorer.version}"}
    return JSONResponse(body)


async def _on_moderation_error(_request: Request, exc: Exception) -> JSONResponse:
    """An expected failure (the database went away): 503 in one line, no traceback in the answer."""
    log.error("request failed: %s", exc)
    return JSONResponse(error_body(503, str(exc)), status_code=503)


async def _on_unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    """A bug: the answer says only that (the traceback goes to the log, never to the caller)."""
    return JSONResponse(error_body(500, "Internal error: see the service's log"), status_code=500)
