"""Errors as the service answers them: Google's JSON error body, which Perspective clients already read.

    {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "...", "details": [...]}}

Every endpoint answers errors this way, so a client needs one parser.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
PERSPECTIVE_ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"


class ApiProblem(Exception):
    """A request the service refuses: status code, a one-line message, optional Perspective details."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        error_type: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.error_type = error_type
        self.extra = extra or {}
        self.headers = headers or {}


def error_body(
    code: int, message: str, error_type: str | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": STATUS_NAMES.get(code, "UNKNOWN")}
    if error_type is not None:
        error["details"] = [{"@type": PERSPECTIVE_ERROR_TYPE, "errorType": error_type, **(extra or {})}]
    return {"error": error}


def problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(
        error_body(problem.code, problem.message, problem.error_type, problem.extra),
        status_code=problem.code,
        headers=problem.headers,
    )


async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc)


async def on_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """A body that is not JSON, or not the expected shape: 400 naming the first problem and where."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {"loc": (), "msg": "invalid request", "type": ""}
    where = ".".join(str(part) for part in first["loc"] if part != "body")
    if first["type"] == "json_invalid":
        message = f"Invalid JSON payload received: {first.get('ctx', {}).get('error', first['msg'])}"
    else:
        message = f"Invalid request: {where + ': ' if where else ''}{first['msg']}"
    return JSONResponse(error_body(400, message), status_code=400)


async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse(error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)
