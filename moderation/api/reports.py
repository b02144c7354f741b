"""`POST /v1/reports`: readers' reports on a stored comment, for sites that collect reports themselves.

The reports add up with those the site's records carry (`reports` in a file, `columns.reports` in SQL); a
comment reaching `policy.reports.queue_at` reports is queued whatever its score, and an open item gets the
`reported` reason and a higher priority (`pipeline.add_reports`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from moderation.api.keys import require_key
from moderation.api.problems import ApiProblem
from moderation.api.service import ScoringService
from moderation.errors import UnknownItem
from moderation.models import Report
from moderation.pipeline import add_reports
from moderation.storage.api_keys import ApiKey

router = APIRouter(tags=["reports"])


class ReaderReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=200)
    reporter: str | None = Field(default=None, max_length=200)
    count: int = Field(default=1, ge=1, le=10_000)


class ReportsRequest(BaseModel):
    """Reports on one comment, named as its source gives it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"source": "blog", "comment_id": "c6", "reports": [{"reason": "abuse", "reporter": "Ana"}]}]
        },
    )

    source: str = Field(min_length=1, max_length=100)
    comment_id: str = Field(min_length=1, max_length=255)
    reports: list[ReaderReport] = Field(min_length=1, max_length=1000)


@router.post("/v1/reports", summary="Add readers' reports to a stored comment")
def add(body: ReportsRequest, request: Request, _key: Annotated[ApiKey, Depends(require_key)]) -> dict[str, Any]:
    service: ScoringService = request.app.state.service
    reports = [Report(count=r.count, reason=r.reason, reporter=r.reporter) for r in body.reports]
    settings = service.settings
    try:
        outcome = add_reports(
            settings.database.url, body.source, body.comment_id, reports, settings.policy, service.now()
        )
    except UnknownItem as exc:
        raise ApiProblem(404, f"No comment {body.comment_id!r} from source {body.source!r} is stored yet") from exc
    return {"total": outcome.total, "queued": outcome.queued, "queue_item_id": outcome.queue_item_id}
