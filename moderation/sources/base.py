"""The source interface and the record format every source produces."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from moderation.models import Comment, Post, RejectedRecord, email_hash


@dataclass
class Batch:
    """One page of a source: new posts and comments, rejected records, and the watermark after them.

    The watermark is where the next read starts once this page is stored.
    """

    source: str
    comments: list[Comment] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)
    watermark: dict[str, Any] = field(default_factory=dict)


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
        merged.watermark = page.watermark
    merged.posts = list({post.id: post for post in merged.posts}.values())
    return merged


class CommentRecord(BaseModel):
    """One comment as it appears in a file or API: the fields every source maps to."""

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

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        value = value.replace("\x00", "")  # PostgreSQL text cannot hold NUL characters
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
        )

    def to_post(self) -> Post | None:
        if self.post_id is None or (self.post_title is None and self.post_body is None):
            return None
        return Post(id=self.post_id, title=self.post_title, body=self.post_body)


def parse_record(data: Any, *, source: str, location: str, raw: str) -> Comment | RejectedRecord:
    """A valid comment, or a rejected record that says what was wrong (never raises)."""
    if not isinstance(data, dict):
        return RejectedRecord(source, location, f"expected an object, got {type(data).__name__}", raw)
    try:
        return CommentRecord.model_validate(data).to_comment()
    except ValidationError as exc:
        return RejectedRecord(source, location, _first_error(exc), raw, _maybe_id(data))


def parse_post(data: Any) -> Post:
    record = PostRecord.model_validate(data)
    return Post(
        id=record.id, title=record.title, body=record.body, author=record.author, published_at=record.published_at
    )


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


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field_name = ".".join(str(part) for part in error["loc"]) or "record"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field_name}: {message}"


def _maybe_id(data: dict[str, Any]) -> str | None:
    value = data.get("id")
    return None if value is None else str(value)
