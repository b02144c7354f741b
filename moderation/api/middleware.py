"""Pure ASGI middleware: the request size limit and the structured access log.

The access log is one JSON object per request: method, path (never the query string: `?key=` is a
secret), status, duration, the API key's name, the client address, a request id. Never comment text.
Uvicorn's own access log is off (`moderation api`), since it prints the query string.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moderation.api.problems import error_body

access_log = logging.getLogger("moderation.api.access")
REQUEST_ID_HEADER = b"x-request-id"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


DRAIN_BYTES = 16 * 1024 * 1024
"""A refused body is read and dropped up to this size before the 413 goes out: closing a connection with
unread bytes makes the kernel reset it, and the client may then lose the answer and see only the reset."""


async def _drain(receive: Receive, limit: int) -> None:
    drained = 0
    while drained <= limit:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


class BodySizeLimit:
    """Refuse a body over `max_bytes` with 413: at once when Content-Length says so, else as soon as the
    bytes read pass the limit. The body is read before the app runs, so the app never sees a cut body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _drain(receive, DRAIN_BYTES)
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await _drain(receive, DRAIN_BYTES)
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        payload = json.dumps(
            error_body(413, f"Request body too large: the limit is {self.max_bytes} bytes (api.max_body_bytes)")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class AccessLog:
    """One structured log line per request, and an X-Request-ID header on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, REQUEST_ID_HEADER) or ""
        request_id = given if SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        status = 500
        logged = False

        def log_once() -> None:
            nonlocal logged
            if not logged:
                logged = True
                access_log.info(json.dumps(_entry(scope, state, status, started, request_id)))

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode("latin-1"))]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                log_once()  # before the last byte leaves: a client that has its answer finds the line written
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log_once()


def _entry(scope: Scope, state: dict[str, Any], status: int, started: float, request_id: str) -> dict[str, Any]:
    client = scope.get("client")
    return {
        "event": "request",
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "key": state.get("api_key_name"),
        "comments": state.get("comments"),
        "client": client[0] if client else None,
        "request_id": request_id,
    }


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
