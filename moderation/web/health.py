"""Health checks for load balancers and orchestrators; no login, no page around them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from moderation.errors import StorageError
from moderation.links import HEALTH, READY
from moderation.web.security import Context

router = APIRouter()


@router.get(HEALTH, response_class=PlainTextResponse)
def healthz() -> str:
    """The process serves requests (liveness)."""
    return "ok\n"


@router.get(READY, response_class=PlainTextResponse)
def readyz(context: Context) -> PlainTextResponse:
    """The database answers, so pages can be served (readiness); 503 with the reason otherwise."""
    try:
        context.db.ping()
    except StorageError as exc:
        return PlainTextResponse(f"not ready: {exc}\n", status_code=503)
    return PlainTextResponse("ready\n")
