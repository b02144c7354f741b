"""Plain data passed between the pipeline's modules (no database, no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

Span = tuple[int, int]

# The reasons a review-queue item can carry: the policy emits a scorer's labels that crossed their thresholds,
# the thread layer's attack on a commenter, and a blocked word. Display names: review/present.py.
ATTACK_ON_COMMENTER = "attack_on_commenter"
BLOCKED_WORD = "blocked_word"
REPORTED = "reported"
"""Readers reported the comment (the reason's value is how many reports it has)."""
BANNED_COMMENTER = "banned_commenter"
ALWAYS_REVIEW = "always_review"
REJECTION_RATE = "rejection_rate"
"""The commenter's recent comments were often rejected (the value is the rate)."""
NEW_COMMENTER = "new_commenter"
COMMENTER_REASONS = (BANNED_COMMENTER, ALWAYS_REVIEW, REJECTION_RATE, NEW_COMMENTER)
"""Reasons that come from who wrote the comment, not from what it says."""
POLICY_REASONS = (ATTACK_ON_COMMENTER, BLOCKED_WORD, REPORTED, *COMMENTER_REASONS)
"""Reasons the policy emits whatever the scorer (the other reasons are the scorer's own labels)."""


class QueueStatus(StrEnum):
    """Where a review-queue item stands: flagged comments enter as pending."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    ESCALATED = "escalated"


QUEUE_STATUSES: tuple[str, ...] = tuple(status.value for status in QueueStatus)
OPEN_STATUSES: tuple[str, ...] = (QueueStatus.PENDING.value, QueueStatus.ESCALATED.value)
"""Statuses that still wait for a decision."""
DECISIONS: tuple[str, ...] = (QueueStatus.APPROVED.value, QueueStatus.REJECTED.value, QueueStatus.ESCALATED.value)
"""Statuses a moderator can move an item to."""
DECISION_VERBS: dict[str, str] = {
    QueueStatus.APPROVED: "approve",
    QueueStatus.REJECTED: "reject",
    QueueStatus.ESCALATED: "escalate",
}
"""The verb of each decision: CLI command names and site actions."""

SYSTEM_ACTOR = "system"
"""The actor of the pipeline's own audit rows (moderators cannot take this name)."""


def all_scores(labels: Mapping[str, float] | None, attack: float | None) -> dict[str, float]:
    """Label scores plus attack_on_commenter, as thresholds, moderators and exports see them."""
    merged = dict(labels or {})
    if attack is not None:
        merged[ATTACK_ON_COMMENTER] = attack
    return merged


@dataclass(frozen=True)
class Post:
    id: str
    title: str | None = None
    body: str | None = None
    author: str | None = None
    published_at: datetime | None = None


SITE_APPROVED = "approved"
SITE_HELD = "hold"
SITE_REMOVED = frozenset({"spam", "trash", "removed"})
"""Statuses a comment can have on its site (`Comment.site_status`); these three mean it is gone from view."""


@dataclass(frozen=True)
class Comment:
    id: str
    text: str
    author: str
    """The display name, as the commenter typed it (not an identity: anyone can type any name)."""
    post_id: str | None = None
    parent_id: str | None = None
    created_at: datetime | None = None
    author_id: str | None = None
    """The site's id of a registered user; None for a guest (WordPress user id 0) or a source without one."""
    author_email_hash: str | None = None
    """sha256 of the lower-cased e-mail address, where the source gives one (never the address)."""
    site_status: str | None = None
    """approved, hold, spam, trash or removed on the site; None where the source does not say."""
    url: str | None = None
    """Where the comment is on the site."""
    reports: tuple[Report, ...] = ()
    """Readers' reports as the source gives them (its current total, not new ones)."""

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def email_hash(address: str) -> str:
    """What is stored of an e-mail address: enough to recognise the same address again, not to read it."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def identity(source: str, author_id: str | None) -> str | None:
    """The verified identity of a registered user, as `policy.trusted_authors` names it: `<source>:<user id>`."""
    return f"{source}:{author_id}" if author_id else None


USER_KEY = "user:"
EMAIL_KEY = "email:"


def commenter_key(author_id: str | None, author_email_hash: str | None) -> str | None:
    """Who wrote a comment, within its source, as the source gives it: `user:<id>` for a registered user,
    else `email:<sha256>` where the source gives an address; None for a guest known only by a display name
    (anyone can type any name, so a name is never a commenter)."""
    if author_id:
        return f"{USER_KEY}{author_id}"
    if author_email_hash:
        return f"{EMAIL_KEY}{author_email_hash}"
    return None


class CommenterState(StrEnum):
    """What an admin decided about a commenter (`moderation commenter set`)."""

    TRUSTED = "trusted"
    """Passed without review, unless a severe label (`policy.urgent_labels`) or reader reports say otherwise;
    registered users (`user:` keys) only."""
    ALWAYS_REVIEW = "always_review"
    BANNED = "banned"
    """Rejected at once (and on the site where the source acts there)."""


COMMENTER_STATES: tuple[str, ...] = tuple(state.value for state in CommenterState)


@dataclass(frozen=True)
class CommenterRecord:
    """What the policy knows about the author of one comment: the admin's state and their history (read by the
    pipeline from the database; the policy only reads this)."""

    key: str
    """`user:<id>` or `email:<sha256>` (commenter_key)."""
    state: str | None = None
    """trusted, always_review or banned while it has not expired; None otherwise."""
    earlier_comments: int = 0
    """Their comments stored before this one."""
    recent_comments: int = 0
    """Their comments written within `policy.commenters.window_days`, this one excluded."""
    recent_rejected: int = 0
    """Of those, how many a moderator (or the site) rejected."""


@dataclass(frozen=True)
class Report:
    """Readers' reports on a comment: `count` reports, for `reason` (None: not given), by `reporter` (None: not
    given, or several)."""

    count: int = 1
    reason: str | None = None
    reporter: str | None = None


@dataclass(frozen=True)
class RejectedRecord:
    """An input record that could not be turned into a comment, and why."""

    source: str
    location: str
    error: str
    raw: str
    external_id: str | None = None


@dataclass
class Thread:
    """What a scorer may know about the conversation around a comment."""

    post: Post | None = None
    comments: dict[str, Comment] = field(default_factory=dict)
    authors: set[str] = field(default_factory=set)
    """Everyone who commented in the thread, including comments not in `comments`."""

    @classmethod
    def of(cls, comments: Iterable[Comment], post: Post | None = None) -> Thread:
        return cls(post=post, comments={c.id: c for c in comments})

    def parent_of(self, comment: Comment) -> Comment | None:
        if comment.parent_id is None:
            return None
        return self.comments.get(comment.parent_id)

    def participants(self) -> set[str]:
        return set(self.participant_names)

    @cached_property
    def participant_names(self) -> frozenset[str]:
        """Authors of the thread's comments and of the post; computed once per thread."""
        names = {c.author for c in self.comments.values() if c.author} | {a for a in self.authors if a}
        if self.post is not None and self.post.author:
            names.add(self.post.author)
        return frozenset(names)


@dataclass(frozen=True)
class InThread:
    """A comment to score together with its thread."""

    comment: Comment
    thread: Thread


@dataclass
class CommentScore:
    """What a scorer says about one comment."""

    scores: dict[str, float]
    evidence: dict[str, list[Span]] = field(default_factory=dict)
    attack_on_commenter: float | None = None
    attack_target: str | None = None
    auxiliary: dict[str, float] = field(default_factory=dict)
    """A model's auxiliary outputs (e.g. `attack`, trained on another data set's label): read by the thread
    layer, never shown or thresholded as a label."""

    def all_scores(self) -> dict[str, float]:
        """Label scores plus attack_on_commenter, as thresholds see them."""
        return all_scores(self.scores, self.attack_on_commenter)


@dataclass(frozen=True)
class Decision:
    """What the policy decided for one comment."""

    flagged: bool
    reasons: Mapping[str, float]
    priority: float
    status: str
    explanation: str = ""
    attack_target: str | None = None


@dataclass(frozen=True)
class FlaggedItem:
    """A review-queue item as the alert triggers see it."""

    item_id: int
    source: str
    post_id: str | None
    post_title: str | None
    comment_id: str
    author: str
    text: str
    reasons: Mapping[str, float]
    """Labels that crossed the policy's thresholds."""
    scores: Mapping[str, float]
    """Every label's score, attack_on_commenter included."""
    attack_target: str | None
    priority: float
    at: datetime
    """When the comment was written (when it was queued, if the source gives no time)."""


@dataclass(frozen=True)
class AlertDraft:
    """An alert a trigger decided on, before it is written to the outbox (one row per channel)."""

    kind: str
    key: str
    """Dedupe key, e.g. pile_on:<source>/<post>:<window start>; one alert per key per channel, ever."""
    window_start: datetime
    channels: tuple[str, ...]
    payload: dict[str, Any]
    """What the message says: title, summary, post, the worst comments (JSON-ready)."""
    source: str | None = None
    post_id: str | None = None


@dataclass(frozen=True)
class SiteAction:
    """A decision on a comment, to be applied on the comment's site (moderation/sources/actions.py)."""

    id: int
    moderation_action_id: int
    source: str
    comment_id: str
    """The comment's id on its site."""
    decision: str
    reason_code: str | None
    actor: str
    undoes: SiteAction | None
    """For an undo: the action it reverts (with what that action did on the site)."""
    applied: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "comment_id": self.comment_id,
            "decision": self.decision,
            "reason_code": self.reason_code,
            "actor": self.actor,
            "undoes": self.undoes.id if self.undoes else None,
            "applied": self.applied,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
        }


@dataclass(frozen=True)
class ReportEffect:
    """What a comment's reader reports do (policy/phases.report_rule)."""

    queues: bool
    """Enough reports to queue the comment whatever its score."""
    boost: float
    """What they add to its queue item's priority."""


ReportRule = Callable[[int], ReportEffect]
"""(how many reports a comment has) -> what they do. Pure."""

SitePlan = Callable[[str, Decision], "str | None"]
"""(source name, the pipeline's decision) -> the site action it causes (`hold`, `queue`) or None. Pure."""


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
    locations: dict[str, str] = field(default_factory=dict)
    """Comment id -> where it was read (file and line, SQL key, WordPress id), for errors about it."""
    repaired: list[str] = field(default_factory=list)
    """What was replaced to make a record storable, one note per field, with where the record was read."""


AlertRule = Callable[[Sequence[FlaggedItem], Sequence[FlaggedItem]], list[AlertDraft]]
"""(newly queued items, every queued item on their posts) -> the alerts they cause. Pure."""


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    kind: str
    dedupe_key: str
    channel: str
    source: str | None
    post_id: str | None
    window_start: datetime
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "dedupe_key": self.dedupe_key,
            "channel": self.channel,
            "source": self.source,
            "post_id": self.post_id,
            "window_start": self.window_start.isoformat(),
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "payload": self.payload,
        }
