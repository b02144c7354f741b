"""The source interface and the record format every source produces."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from moderation.models import Batch, Comment, Post, RejectedRecord, Report, email_hash
from moderation.sources.storable import (
    ID_LENGTH,
    STATUS_LENGTH,
    check_date,
    check_length,
    clip,
    make_storable,
    storable_text,
)


class Source(Protocol):
    name: str

    def pages(self, watermark: dict[str, Any] | None) -> Iterator[Batch]:
        """Read everything after `watermark` (None: from the beginning), one bounded page at a time.

        Each page's watermark covers that page and every page before it; memory stays flat in the
        number of comments. Raises SourceError when the source cannot be read.
        """
        ...


def collect(pages: Iterable[Batch], source: str) -> Batch:
    """All pages in one batch (for small inputs and tests; the flow stores page by page)."""
    merged = Batch(source=source)
    for page in pages:
        merged.comments.extend(page.comments)
        merged.posts.extend(page.posts)
        merged.rejected.extend(page.rejected)
        merged.locations.update(page.locations)
        merged.repaired.extend(page.repaired)
        merged.watermark = page.watermark
    merged.posts = list({post.id: post for post in merged.posts}.values())
    return merged


TEXT_FIELDS = (
    "id",
    "text",
    "author",
    "post_id",
    "parent_id",
    "post_title",
    "post_body",
    "author_id",
    "author_email",
    "site_status",
    "url",
)
"""Record fields that may hold text a database cannot store (NUL, lone surrogates)."""


class CommentRecord(BaseModel):
    """One comment as it appears in a file or API: the fields every source maps to.

    Validation makes it storable: ids and names fit their columns and dates have a UTC equivalent
    (sources/storable.py); `add_record` has already replaced NUL and lone surrogates in its text fields.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    id: str = Field(min_length=1)
    text: str
    author: str = ""
    post_id: str | None = None
    parent_id: str | None = None
    created_at: datetime | None = None
    post_title: str | None = None
    post_body: str | None = None
    author_id: str | None = None
    """The site's user id; empty, 0 or missing for a guest."""
    author_email: str | None = None
    """Hashed on the way in (Comment.author_email_hash); the address itself is never kept."""
    site_status: str | None = None
    url: str | None = None
    reports: tuple[Report, ...] = ()
    """Readers' reports: a count (3), {"count": 3, "reasons": ["spam", ...]}, or a list of reasons or of
    {"reason": ..., "reporter": ...}; in a CSV cell, the count or that JSON."""

    @field_validator("reports", mode="before")
    @classmethod
    def _reports(cls, value: Any) -> tuple[Report, ...]:
        return parse_reports(value)

    @field_validator("id", "post_id", "parent_id", "author_id", mode="before")
    @classmethod
    def _ids_as_strings(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if value == "":
            return None
        return value

    @field_validator("author_id")
    @classmethod
    def _guest_has_no_id(cls, value: str | None) -> str | None:
        return None if value is None or value.strip() in ("", "0") else value

    @field_validator("author", mode="before")
    @classmethod
    def _missing_author(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("created_at", mode="before")
    @classmethod
    def _empty_date_is_missing(cls, value: Any) -> Any:
        return None if value == "" else value  # an empty CSV cell

    @field_validator("id", "post_id", "parent_id", "author", "author_id")
    @classmethod
    def _fits_column(cls, value: str | None) -> str | None:
        return None if value is None else check_length(value)

    @field_validator("site_status")
    @classmethod
    def _status_fits_column(cls, value: str | None) -> str | None:
        return None if value is None else check_length(value, STATUS_LENGTH)

    @field_validator("created_at")
    @classmethod
    def _date_in_range(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_date(value)

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value

    def to_comment(self) -> Comment:
        return Comment(
            id=self.id,
            text=self.text,
            author=self.author,
            post_id=self.post_id,
            parent_id=self.parent_id,
            created_at=self.created_at,
            author_id=self.author_id,
            author_email_hash=email_hash(self.author_email) if self.author_email else None,
            site_status=self.site_status,
            url=self.url,
            reports=self.reports,
        )

    def to_post(self) -> Post | None:
        if self.post_id is None or (self.post_title is None and self.post_body is None):
            return None
        return Post(id=self.post_id, title=self.post_title, body=self.post_body)


MAX_REPORTS = 1_000_000


def parse_reports(value: Any) -> tuple[Report, ...]:
    """A record's `reports` field as Report entries; raises ValueError saying which form it should take."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _count_only(int(text))
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError(f"{REPORTS_FORMS}, got {text[:40]!r}") from None
    if isinstance(value, bool):
        raise ValueError(f"{REPORTS_FORMS}, got {value!r}")
    if isinstance(value, int):
        return _count_only(value)
    if isinstance(value, list):
        return tuple(_one_report(item) for item in value)
    if isinstance(value, dict):
        count, reasons = value.get("count"), value.get("reasons") or []
        if not isinstance(reasons, list):
            raise ValueError(f"reasons must be a list, got {type(reasons).__name__}")
        listed = tuple(_one_report(item) for item in reasons)
        if count is None:
            return listed
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_REPORTS:
            raise ValueError(f"count must be a whole number from 0 to {MAX_REPORTS}, got {count!r}")
        rest = count - sum(report.count for report in listed)
        return listed + _count_only(rest) if rest > 0 else listed
    raise ValueError(f"{REPORTS_FORMS}, got {type(value).__name__}")


REPORTS_FORMS = 'give a count, {"count": N, "reasons": [...]}, or a list of {"reason", "reporter"}'


def _count_only(count: int) -> tuple[Report, ...]:
    if not 0 <= count <= MAX_REPORTS:
        raise ValueError(f"count must be a whole number from 0 to {MAX_REPORTS}, got {count}")
    return (Report(count=count),) if count else ()


def _one_report(item: Any) -> Report:
    if isinstance(item, str):
        return Report(reason=_report_text(item))
    if isinstance(item, dict):
        reason, reporter = item.get("reason"), item.get("reporter")
        if not all(v is None or isinstance(v, str | int) for v in (reason, reporter)):
            raise ValueError("a report's reason and reporter must be text")
        return Report(
            reason=_report_text(str(reason)) if reason is not None else None,
            reporter=_report_text(str(reporter)) if reporter is not None else None,
        )
    raise ValueError(f"a report must be a reason or {{reason, reporter}}, got {type(item).__name__}")


def _report_text(value: str) -> str | None:
    return clip(make_storable(value.strip()), ID_LENGTH) or None


def add_record(page: Batch, data: Any, *, location: str, raw: str | None = None) -> None:
    """Add one source record to `page`: as a comment (and its post, if it names one), or as a rejected
    record that says what was wrong and where. Never raises. Replaced characters are noted in
    `page.repaired`. `raw` (default: the record as JSON) is kept for rejected records only.
    """
    if not isinstance(data, dict):
        error = f"expected an object, got {type(data).__name__}"
        page.rejected.append(_reject(page.source, location, error, raw, data))
        return
    storable, repairs = _storable_fields(data)
    try:
        record = CommentRecord.model_validate(storable)
    except ValidationError as exc:
        page.rejected.append(_reject(page.source, location, _first_error(exc), raw, storable, _maybe_id(storable)))
        return
    comment = record.to_comment()
    page.comments.append(comment)
    page.locations[comment.id] = location
    post = record.to_post()
    if post is not None:
        page.posts.append(post)
    page.repaired.extend(f"{location}: {repair}" for repair in repairs)


def _storable_fields(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`data` with NUL and lone surrogates replaced in its text fields, and a note per field changed."""
    fixed, repairs = dict(data), []
    for name in TEXT_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            fixed[name], replaced = storable_text(value)
            if replaced:
                repairs.append(f"{name}: {replaced} NUL or lone surrogate character(s) replaced with U+FFFD")
    return fixed, repairs


def _reject(
    source: str, location: str, error: str, raw: str | None, data: Any, external_id: str | None = None
) -> RejectedRecord:
    text = raw if raw is not None else json.dumps(data, default=str, ensure_ascii=False)
    return RejectedRecord(source, location, error, text, external_id)


def parse_post(data: Any) -> Post:
    record = PostRecord.model_validate(_storable_fields_of_post(data))
    return Post(
        id=record.id, title=record.title, body=record.body, author=record.author, published_at=record.published_at
    )


def _storable_fields_of_post(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    return {name: make_storable(value) if isinstance(value, str) else value for name, value in data.items()}


class PostRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    title: str | None = None
    body: str | None = None
    author: str | None = None
    published_at: datetime | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_string(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("id")
    @classmethod
    def _id_fits_column(cls, value: str) -> str:
        return check_length(value)

    @field_validator("author")
    @classmethod
    def _author_fits_column(cls, value: str | None) -> str | None:
        return None if value is None else clip(value, ID_LENGTH)

    @field_validator("published_at")
    @classmethod
    def _date_in_range(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_date(value)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field_name = ".".join(str(part) for part in error["loc"]) or "record"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field_name}: {message}"


def _maybe_id(data: dict[str, Any]) -> str | None:
    value = data.get("id")
    return None if value is None else clip(str(value), ID_LENGTH)
