"""The database schema as SQLAlchemy 2 typed ORM models. Changes here need an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from moderation.models import QueueStatus

ALERT_STATUSES = ("pending", "sending", "delivered", "failed")
SITE_ACTION_STATUSES = (*ALERT_STATUSES, "skipped")
ROLES = ("moderator", "admin")


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time, stored in UTC and always read back UTC-aware: SQLite keeps no zone and PostgreSQL
    answers in the session's, so no caller converts by hand. A naive datetime is taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return to_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return to_utc(value)


def to_utc(value: datetime | None) -> datetime | None:
    """`value` in UTC (naive: taken to be UTC); OverflowError when that moment has no UTC date (year 1 at +14:00)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class PostRow(Base):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_posts_source_external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))
    published_at: Mapped[datetime | None]


class CommentRow(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_comments_source_external_id"),
        Index("ix_comments_post", "source", "post_external_id"),
        Index("ix_comments_author_id", "source", "author_id"),
        Index("ix_comments_author_email_hash", "source", "author_email_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(255))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    post_external_id: Mapped[str | None] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(255))
    parent_external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    text_purged_at: Mapped[datetime | None]
    """When retention blanked the text (content_hash, scores, queue and audit rows are kept)."""
    author_id: Mapped[str | None] = mapped_column(String(255))
    """The source's id of a registered user (None: a guest, or a source without user ids)."""
    author_email_hash: Mapped[str | None] = mapped_column(String(64))
    """sha256 of the lower-cased e-mail address, where the source gives it; never the address."""
    site_status: Mapped[str | None] = mapped_column(String(20))
    """The comment's status on the site when last read: approved, hold, spam, trash, removed."""
    url: Mapped[str | None] = mapped_column(Text)
    """The comment's address on the site."""


class ScoreRow(Base):
    """One scoring of one revision of a comment by one scorer version; never overwritten."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint(
            "comment_id", "content_hash", "scorer", "scorer_version", name="uq_scores_comment_revision_scorer"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    scorer: Mapped[str] = mapped_column(String(100))
    scorer_version: Mapped[str] = mapped_column(String(255))
    labels: Mapped[dict[str, Any]]
    attack_on_commenter: Mapped[float | None] = mapped_column(Float)
    attack_target: Mapped[str | None] = mapped_column(String(255))
    evidence: Mapped[dict[str, Any]]
    scored_at: Mapped[datetime]


class QueueItemRow(Base):
    __tablename__ = "review_queue"
    __table_args__ = (
        UniqueConstraint("comment_id", "content_hash", name="uq_review_queue_comment_revision"),
        Index("ix_review_queue_status_priority", "status", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    score_id: Mapped[int | None] = mapped_column(ForeignKey("scores.id"))
    reasons: Mapped[dict[str, Any]]
    """Labels that crossed their thresholds, with their scores."""
    attack_target: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default=QueueStatus.PENDING.value)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    decision_code: Mapped[str | None] = mapped_column(String(50))
    """The reason code of the latest moderator decision (from review.reason_codes)."""
    decision_reason: Mapped[str | None] = mapped_column(Text)
    """The moderator's free-text note on the latest decision."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]


class ModerationActionRow(Base):
    """Append-only audit log: every decision, by the pipeline (actor 'system') or a moderator."""

    __tablename__ = "moderation_actions"
    __table_args__ = (Index("ix_moderation_actions_actor", "actor", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    queue_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_queue.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    """The pipeline's explanation, or the moderator's free-text note."""
    reason_code: Mapped[str | None] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(255))
    scorer: Mapped[str | None] = mapped_column(String(255))
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    undoes_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_actions.id", name="fk_moderation_actions_undoes_action_id")
    )
    """Set on an undo: the action it reverted."""
    created_at: Mapped[datetime]


class RejectedInputRow(Base):
    __tablename__ = "rejected_inputs"
    __table_args__ = (UniqueConstraint("source", "location", name="uq_rejected_inputs_source_location"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(String(1000))
    external_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class WatermarkRow(Base):
    __tablename__ = "watermarks"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class AlertOutboxRow(Base):
    """One alert for one channel: written with the queue rows that cause it, then delivered once.

    pending -> sending (claimed by one deliverer) -> delivered | failed | pending again (retry later).
    """

    __tablename__ = "alert_outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "channel", name="uq_alert_outbox_key_channel"),
        Index("ix_alert_outbox_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(100))
    post_external_id: Mapped[str | None] = mapped_column(String(255))
    window_start: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class UserRow(Base):
    """A moderator or admin of the review UI; the password is stored as an argon2 hash only."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("name", name="uq_users_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    """Set while the account is disabled: it cannot log in, its sessions are ended, `--as` refuses it."""
    sources: Mapped[list[str] | None] = mapped_column(JSON)
    """The sources whose items this account may see and decide; None: every source."""


class SessionRow(Base):
    """A login of the review UI; the cookie carries the token, only its SHA-256 is stored here."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", name="fk_sessions_user_id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    """Set by logout, or when the account is disabled, deleted or given a new password."""


class AccountEventRow(Base):
    """Append-only audit of account changes: who did what to which account, when."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(50))
    username: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class LoginAttemptRow(Base):
    """Recent login attempts per user name and client address, for rate limiting."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_user_ip_time", "username", "ip", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(255))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class AppSecretRow(Base):
    """Secrets the application generates for itself, e.g. the session signing key."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class ScoringFailureRow(Base):
    """A comment revision the scorer raised on, alone; it is skipped by that scorer version until its
    text changes or `moderation failures retry` removes this row."""

    __tablename__ = "scoring_failures"
    __table_args__ = (
        UniqueConstraint(
            "comment_id", "content_hash", "scorer_version", name="uq_scoring_failures_comment_revision_scorer"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    scorer: Mapped[str] = mapped_column(String(100))
    scorer_version: Mapped[str] = mapped_column(String(255))
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime]


class SiteActionRow(Base):
    """One decision to apply on the comment's site (WordPress, the SQL table, a webhook, a file).

    Written in the transaction of the decision it carries (unique per audit row, so exactly once per
    decision), then delivered like an alert: pending -> sending -> delivered | failed | skipped | pending again.
    """

    __tablename__ = "site_actions"
    __table_args__ = (
        UniqueConstraint("moderation_action_id", name="uq_site_actions_moderation_action"),
        Index("ix_site_actions_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    moderation_action_id: Mapped[int] = mapped_column(ForeignKey("moderation_actions.id"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(255))
    decision: Mapped[str] = mapped_column(String(20))
    """approve, reject, escalate, hold, queue, or undo."""
    reason_code: Mapped[str | None] = mapped_column(String(50))
    undoes_site_action_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(255))
    applied: Mapped[str | None] = mapped_column(String(50))
    """What delivery did on the site (e.g. the WordPress status set), for the list and for undo."""
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ApiKeyRow(Base):
    """A key for `moderation api`: only its sha256 is kept; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("name", name="uq_api_keys_name"),
        UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiRateWindowRow(Base):
    """Requests one API key made in one rate-limit window; every worker process counts here."""

    __tablename__ = "api_rate_windows"

    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)


class CommenterRow(Base):
    """A commenter of one source, as the source identifies them (`user:<id>` or `email:<sha256>`), with what an
    admin decided about them. Their counts are derived from `comments` and `review_queue` when read, so
    reruns, undos and the site's own decisions never leave them wrong."""

    __tablename__ = "commenters"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_commenters_source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(300))
    state: Mapped[str | None] = mapped_column(String(20))
    """trusted, always_review or banned (None: the default rules)."""
    state_expires_at: Mapped[datetime | None]
    """When the state lapses (None: until changed)."""
    state_note: Mapped[str | None] = mapped_column(Text)
    state_set_by: Mapped[str | None] = mapped_column(String(255))
    state_set_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class CommenterEventRow(Base):
    """Append-only audit of commenters: every state change and every moderator note, by whom and when."""

    __tablename__ = "commenter_events"
    __table_args__ = (Index("ix_commenter_events_commenter", "commenter_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commenter_id: Mapped[int] = mapped_column(ForeignKey("commenters.id", name="fk_commenter_events_commenter_id"))
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(20))
    """`state` (a state set or cleared) or `note`."""
    state: Mapped[str | None] = mapped_column(String(20))
    expires_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class CommentReportRow(Base):
    """Readers' reports on a comment: `count` reports for `reason` by `reporter` (either may be unknown).

    Rows read from the source (`via` = source) are replaced whenever the source gives the comment's reports
    again (it gives its current total); rows added through `pipeline.add_reports` (`via` = api) accumulate.
    """

    __tablename__ = "comment_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", name="fk_comment_reports_comment_id"), index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[str | None] = mapped_column(String(255))
    via: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
