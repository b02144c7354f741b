"""`POST /v1/coral/moderate`: Coral Talk's external moderation phase.

Coral posts each new or edited comment (its body, parent id, author id and role, story, site, tenant)
with `X-Coral-Signature: sha256=<hex HMAC-SHA256 of the raw body with the phase's signing secret>` (one
element per active secret, comma-separated, while a secret is being rotated). A request whose signature
matches none is refused with 401 before anything is parsed.

The answer is the same policy as the flow's, in Coral's words: a flagged comment is PREMOD (held for a
moderator) with a COMMENT_DETECTED_TOXIC flag, or REJECTED when its strongest reason reaches
`api.coral.reject_threshold`; a clean one is APPROVED (or 204, leaving it to Coral, when
`api.coral.approve_clean` is false). `moderation` holds our reasons and scores; Coral ignores fields it
does not know.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moderation.api.keys import require_ready
from moderation.api.problems import ApiProblem
from moderation.api.service import ScoringService
from moderation.config import CoralSettings, secret_from_env
from moderation.errors import ConfigError
from moderation.models import Comment, Decision, QueueStatus
from moderation.score_file import Failed, Scored

router = APIRouter(tags=["coral"])
SIGNATURE_HEADER = "x-coral-signature"


class CoralComment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    body: str
    parent_id: str | None = Field(default=None, alias="parentID")


class CoralAuthor(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    role: str = "COMMENTER"


class CoralStory(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    url: str = ""


class ExternalModerationRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action: Literal["NEW", "EDIT"]
    comment: CoralComment
    author: CoralAuthor
    story: CoralStory
    tenant_id: str = Field(default="", alias="tenantID")


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """Whether any `sha256=<hex>` element of Coral's header is the HMAC-SHA256 of `body` with `secret`."""
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    for element in header.split(","):
        scheme, _, digest = element.strip().partition("=")
        if scheme == "sha256" and hmac.compare_digest(digest.strip().lower(), expected):
            return True
    return False


def coral_status(decision: Decision, settings: CoralSettings) -> str | None:
    """Coral's status for the policy's decision; None: no opinion (answered 204)."""
    if decision.status == QueueStatus.REJECTED:  # a banned commenter
        return "REJECTED"
    if not decision.flagged:
        return "APPROVED" if settings.approve_clean else None
    strongest = max(decision.reasons.values(), default=0.0)
    if settings.reject_threshold is not None and strongest >= settings.reject_threshold:
        return "REJECTED"
    return "PREMOD"


@router.post(
    "/v1/coral/moderate",
    summary="Coral Talk external moderation phase",
    responses={200: {"description": "status, actions and our reasons"}, 204: {"description": "no opinion"}},
)
async def moderate(request: Request, service: Annotated[ScoringService, Depends(require_ready)]) -> Response:
    coral = service.settings.api.coral
    secret = _signing_secret(coral)
    body = await request.body()
    if not signature_matches(secret, body, request.headers.get(SIGNATURE_HEADER, "")):
        raise ApiProblem(401, "X-Coral-Signature does not match this body and the phase's signing secret (api.coral)")
    try:
        phase = ExternalModerationRequest.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise ApiProblem(400, f"Invalid Coral moderation request: {_first_problem(exc)}") from exc
    request.state.api_key_name = "coral"
    request.state.comments = 1
    outcome = (await run_in_threadpool(service.score, [_comment(phase)]))[0]
    if isinstance(outcome, Failed):
        return Response(status_code=204)  # Coral skips a phase that has no opinion; the comment is not lost
    return _answer(outcome, coral)


def _signing_secret(coral: CoralSettings) -> str:
    if coral.signing_secret_env is None:
        raise ApiProblem(404, "Coral moderation is not configured: set api.coral.signing_secret_env")
    try:
        secret = secret_from_env(coral.signing_secret_env, "api.coral.signing_secret_env")
    except ConfigError as exc:
        raise ApiProblem(503, str(exc)) from exc
    assert secret is not None
    return secret.get_secret_value()


def _comment(phase: ExternalModerationRequest) -> Comment:
    """Coral sends no comment id: story, author and text identify the revision being moderated."""
    digest = hashlib.sha256(
        "\n".join((phase.story.id, phase.author.id, phase.comment.body)).encode("utf-8")
    ).hexdigest()[:32]
    return Comment(
        id=f"coral-{digest}",
        text=phase.comment.body,
        author=phase.author.id,
        author_id=phase.author.id,
        post_id=phase.story.id,
        parent_id=phase.comment.parent_id,
        url=phase.story.url or None,
    )


def _answer(outcome: Scored, coral: CoralSettings) -> Response:
    status = coral_status(outcome.decision, coral)
    if status is None:
        return Response(status_code=204)
    answer: dict[str, Any] = {"status": status}
    if outcome.decision.flagged:
        answer["actions"] = [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]
    answer["moderation"] = {
        "reasons": outcome.record["reasons"],
        "scores": outcome.score.all_scores(),
        "attack_target": outcome.decision.attack_target,
        "scorer": outcome.record["scorer"],
    }
    return JSONResponse(answer)


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return f"not JSON ({exc})"
