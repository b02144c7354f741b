"""`POST /v1alpha1/comments:analyze`: Perspective API's AnalyzeComment, for clients that let you change its
address (Coral Talk's `endpoint` setting, and many others).

Attributes we can honestly map: TOXICITY, SEVERE_TOXICITY, INSULT, THREAT, IDENTITY_ATTACK, PROFANITY (our
`obscene`) and ATTACK_ON_COMMENTER (ours: an insult aimed at someone in the thread). Scores are the same
calibrated probabilities `moderation score` gives; `spanScores` are the evidence spans (the words that
drove the score), or the whole comment when there are none. Errors are Perspective's: the same status
codes, messages and `errorType`s, so a client shows what it showed before.

Extension (ignored by Perspective clients): a request may carry `"moderation": {"author", "participants",
"commentId", "postId", "parentId"}` for thread context, and the ATTACK_ON_COMMENTER score carries
`attackTarget`, the participant the attack is aimed at.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from moderation.api.keys import require_key, require_ready
from moderation.api.problems import ApiProblem
from moderation.api.service import ScoringService, scored_or_problem
from moderation.models import ATTACK_ON_COMMENTER, Comment
from moderation.storage.api_keys import ApiKey

router = APIRouter(tags=["perspective"])

ATTRIBUTES = {
    "TOXICITY": "toxicity",
    "SEVERE_TOXICITY": "severe_toxicity",
    "INSULT": "insult",
    "THREAT": "threat",
    "IDENTITY_ATTACK": "identity_attack",
    "PROFANITY": "obscene",
    "ATTACK_ON_COMMENTER": ATTACK_ON_COMMENTER,
}
SCORE_TYPE = "PROBABILITY"


class TextEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str = ""
    type: str = "PLAIN_TEXT"


class AttributeParameters(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    score_type: str | None = Field(default=None, alias="scoreType")
    score_threshold: float | None = Field(default=None, alias="scoreThreshold")


class ThreadExtension(BaseModel):
    """Not Perspective's: thread context for ATTACK_ON_COMMENTER, and ids for recording."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    author: str = ""
    participants: list[str] = Field(default_factory=list)
    comment_id: str | None = Field(default=None, alias="commentId", min_length=1, max_length=255)
    post_id: str | None = Field(default=None, alias="postId", max_length=255)
    parent_id: str | None = Field(default=None, alias="parentId", max_length=255)


class AnalyzeCommentRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "comment": {"text": "Slaven, you're an idiot!"},
                    "languages": ["en"],
                    "requestedAttributes": {"TOXICITY": {}, "ATTACK_ON_COMMENTER": {}},
                    "doNotStore": True,
                    "moderation": {"author": "Lee", "participants": ["Slaven"]},
                }
            ]
        },
    )
    comment: TextEntry
    context: dict[str, Any] | None = None
    requested_attributes: dict[str, AttributeParameters] = Field(default_factory=dict, alias="requestedAttributes")
    languages: list[str] = Field(default_factory=list)
    do_not_store: bool = Field(default=False, alias="doNotStore")
    client_token: str | None = Field(default=None, alias="clientToken")
    session_id: str | None = Field(default=None, alias="sessionId")
    community_id: str | None = Field(default=None, alias="communityId")
    span_annotations: bool = Field(default=False, alias="spanAnnotations")
    moderation: ThreadExtension = Field(default_factory=ThreadExtension)


@router.post("/v1alpha1/comments:analyze", summary="Perspective API AnalyzeComment")
def analyze(
    body: AnalyzeCommentRequest,
    request: Request,
    service: Annotated[ScoringService, Depends(require_ready)],
    _key: Annotated[ApiKey, Depends(require_key)],
) -> dict[str, Any]:
    labels = _requested_labels(body, service)
    languages = _languages(body, service, list(labels))
    text = body.comment.text
    _check_text(body.comment, service.settings.api.max_comment_bytes)
    request.state.comments = 1
    comment = _comment(body, text)
    outcomes = service.score([comment], participants=body.moderation.participants, store=not body.do_not_store)
    outcome = scored_or_problem(outcomes[0])
    scores = outcome.score.all_scores()
    attribute_scores = {}
    for attribute, (label, parameters) in labels.items():
        value = scores.get(label, 0.0)
        if parameters.score_threshold is not None and value < parameters.score_threshold:
            continue
        attribute_scores[attribute] = _attribute_score(value, outcome.score.evidence.get(label, []), text)
        if label == ATTACK_ON_COMMENTER and outcome.score.attack_target is not None:
            attribute_scores[attribute]["attackTarget"] = outcome.score.attack_target
    answer: dict[str, Any] = {
        "attributeScores": attribute_scores,
        "languages": languages,
        "detectedLanguages": languages,
    }
    if body.client_token is not None:
        answer["clientToken"] = body.client_token
    return answer


def _requested_labels(
    body: AnalyzeCommentRequest, service: ScoringService
) -> dict[str, tuple[str, AttributeParameters]]:
    if not body.requested_attributes:
        raise ApiProblem(400, "Missing requested_attributes", error_type="MISSING_REQUESTED_ATTRIBUTES")
    assert service.scorer is not None
    available = {*service.scorer.labels, ATTACK_ON_COMMENTER}
    labels = {}
    for attribute, parameters in body.requested_attributes.items():
        label = ATTRIBUTES.get(attribute.upper())
        if label is None or label not in available:
            known = ", ".join(name for name, label in ATTRIBUTES.items() if label in available)
            raise ApiProblem(
                400,
                f"Unknown requested attribute: {attribute} (this service answers {known})",
                error_type="UNKNOWN_REQUESTED_ATTRIBUTE",
                extra={"unknownRequestedAttribute": attribute},
            )
        if parameters.score_type not in (None, SCORE_TYPE):
            raise ApiProblem(
                400,
                f"Requested score type {parameters.score_type} is not supported by attribute {attribute}",
                error_type="UNSUPPORTED_SCORE_TYPE",
            )
        labels[attribute.upper()] = (label, parameters)
    return labels


def _languages(body: AnalyzeCommentRequest, service: ScoringService, attributes: list[str]) -> list[str]:
    """The request's languages when the scorer knows them all; without any, the first configured language
    (the service detects none: it reports the language it scored in)."""
    supported = service.settings.api.languages
    if not body.languages:
        return [supported[0]]
    unsupported = [lang for lang in body.languages if lang.split("-")[0].lower() not in supported]
    if unsupported:
        raise ApiProblem(
            400,
            f"Attribute {attributes[0]} does not support request languages: {', '.join(unsupported)}",
            error_type="LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            extra={
                "languageNotSupportedByAttributeError": {
                    "detectedLanguages": body.languages,
                    "attribute": attributes[0],
                }
            },
        )
    return body.languages


def _check_text(entry: TextEntry, max_bytes: int) -> None:
    if entry.type.upper() != "PLAIN_TEXT":
        raise ApiProblem(400, "Currently, only 'PLAIN_TEXT' comments are supported", error_type="UNKNOWN_TEXT_TYPE")
    if not entry.text.strip():
        raise ApiProblem(400, "Comment must be non-empty.", error_type="COMMENT_EMPTY")
    if len(entry.text.encode("utf-8")) > max_bytes:
        raise ApiProblem(
            400,
            f"Comment text too long. The limit is {max_bytes} bytes (api.max_comment_bytes).",
            error_type="COMMENT_TOO_LONG",
        )


def _comment(body: AnalyzeCommentRequest, text: str) -> Comment:
    """Perspective sends no comment id: the text's hash stands in (the same text is the same comment)."""
    thread = body.moderation
    comment_id = thread.comment_id or "perspective-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return Comment(
        id=comment_id,
        text=text,
        author=thread.author,
        post_id=thread.post_id or body.community_id,
        parent_id=thread.parent_id,
    )


def _attribute_score(value: float, spans: list[tuple[int, int]], text: str) -> dict[str, Any]:
    score = {"value": value, "type": SCORE_TYPE}
    return {
        "spanScores": [
            {"begin": begin, "end": end, "score": dict(score)} for begin, end in (spans or [(0, len(text))])
        ],
        "summaryScore": score,
    }
