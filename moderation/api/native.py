"""`POST /v1/score`: the JSON of `moderation score`, over HTTP.

One comment (`comment`) is answered with its object; a batch (`comments`) with `results` (one object per
scored comment, in order), `rejected` (records that are not a valid comment, with where and why) and
`failed` (comments the scorer raised on alone). Comments of one post form a thread, as in a file;
`context` adds comments that are not scored (a parent, earlier replies) and `participants` other names
known to take part, so an insult aimed at one of them is reported as an attack on them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moderation.api.keys import require_key, require_ready
from moderation.api.problems import ApiProblem
from moderation.api.service import ScoringService, scored_or_problem
from moderation.models import Batch, Comment, Post, RejectedRecord
from moderation.score_file import Failed, Scored
from moderation.sources.base import add_record, parse_post
from moderation.storage.api_keys import ApiKey

router = APIRouter(tags=["native"])

CommentJson = dict[str, Any]


class ScoreRequest(BaseModel):
    """Comments in the fields of `moderation score`'s input lines (id, text, author, post_id, parent_id,
    created_at, author_id, ...)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "comment": {"id": "c6", "post_id": "p1", "author": "Lee", "text": "Slaven, you're an idiot!"},
                    "participants": ["Slaven"],
                }
            ]
        },
    )

    comment: CommentJson | None = None
    """One comment: the answer is its object."""
    comments: list[CommentJson] | None = None
    """A batch: the answer is {results, rejected, failed}."""
    posts: list[dict[str, Any]] = Field(default_factory=list)
    """Posts the comments belong to (id, title, body, author, published_at), as `moderation score`'s posts file."""
    context: list[CommentJson] = Field(default_factory=list)
    """Comments of the same threads that are not scored: a parent, earlier replies."""
    participants: list[str] = Field(default_factory=list)
    """Other people taking part in the thread(s), by display name."""
    store: bool = True
    """False: never recorded in the database, whatever `api.record` says (Perspective's doNotStore)."""


@router.post("/v1/score", summary="Score comments as `moderation score` does")
def score(
    body: ScoreRequest,
    request: Request,
    service: Annotated[ScoringService, Depends(require_ready)],
    _key: Annotated[ApiKey, Depends(require_key)],
) -> dict[str, Any]:
    if (body.comment is None) == (body.comments is None):
        raise ApiProblem(400, "Invalid request: give either comment (one) or comments (a batch)")
    records = [body.comment] if body.comment is not None else body.comments or []
    limit = service.settings.api.max_comments
    count = len(records) + len(body.context)
    if count > limit:
        raise ApiProblem(413, f"Too many comments: {count} in one request, the limit is {limit} (api.max_comments)")
    request.state.comments = len(records)
    batch = _parse(records, "comments" if body.comments is not None else "comment", service)
    context = _parse(body.context, "context", service)
    if context.rejected:
        raise ApiProblem(400, f"Invalid request: {context.rejected[0].location}: {context.rejected[0].error}")
    if body.comment is not None and batch.rejected:
        raise ApiProblem(400, f"Invalid request: comment: {batch.rejected[0].error}")
    outcomes = service.score(
        batch.comments, _posts(body.posts, batch), context.comments, body.participants, store=body.store
    )
    if body.comment is not None:
        return scored_or_problem(outcomes[0]).record
    return {
        "results": [o.record for o in outcomes if isinstance(o, Scored)],
        "rejected": [{"location": r.location, "id": r.external_id, "error": r.error} for r in batch.rejected],
        "failed": [{"id": o.comment.id, "error": o.error} for o in outcomes if isinstance(o, Failed)],
    }


def _parse(records: list[CommentJson], name: str, service: ScoringService) -> Batch:
    """Each record checked as a line of `moderation score`'s input is; a text over api.max_comment_bytes is
    rejected with the others."""
    batch = Batch(source=service.settings.api.source_name)
    for index, record in enumerate(records):
        location = name if name == "comment" else f"{name}[{index}]"
        add_record(batch, record, location=location)
    limit = service.settings.api.max_comment_bytes
    too_long = [c for c in batch.comments if len(c.text.encode("utf-8")) > limit]
    for comment in too_long:
        batch.comments.remove(comment)
        batch.rejected.append(
            _rejected(
                batch,
                comment,
                f"text is {len(comment.text.encode('utf-8'))} bytes, the limit is {limit} (api.max_comment_bytes)",
            )
        )
    return batch


def _rejected(batch: Batch, comment: Comment, error: str) -> RejectedRecord:
    return RejectedRecord(batch.source, batch.locations.get(comment.id, comment.id), error, "", comment.id)


def _posts(records: list[dict[str, Any]], batch: Batch) -> list[Post]:
    posts = {post.id: post for post in batch.posts}
    for index, record in enumerate(records):
        try:
            post = parse_post(record)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ApiProblem(400, f"Invalid request: posts[{index}].{where}: {first['msg']}") from exc
        posts[post.id] = post
    return list(posts.values())
