"""Commenters as moderators manage them: an admin's state (trusted, always_review, banned, with an expiry and
a note), moderators' notes, and what they did, derived from their comments. Every change is an append-only
`commenter_events` row; the pipeline reads the states through storage/commenters.py.

A commenter is `<source>` + `user:<the source's user id>` or `email:<sha256 of the address>`; never a display
name. Only a `user:` commenter can be trusted: an e-mail address is whatever a guest types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from moderation.config import ReviewSettings
from moderation.errors import CommenterError, NotAllowed
from moderation.models import (
    COMMENTER_STATES,
    EMAIL_KEY,
    OPEN_STATUSES,
    USER_KEY,
    CommenterState,
    QueueStatus,
    commenter_key,
    email_hash,
)
from moderation.review.actors import Moderator
from moderation.review.decisions import BulkOutcome, bulk_decide, check_decision, source_codes
from moderation.storage.commenters import written_by
from moderation.storage.engine import Database
from moderation.storage.tables import (
    CommenterEventRow,
    CommenterRow,
    CommentReportRow,
    CommentRow,
    QueueItemRow,
)

STATE_EVENT = "state"
NOTE_EVENT = "note"
NOTE_LENGTH = 4000
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CommenterEvent:
    actor: str
    action: str
    state: str | None
    expires_at: datetime | None
    note: str | None
    created_at: datetime


@dataclass
class CommenterProfile:
    source: str
    key: str
    state: str | None = None
    """The state in force now (None when unset or expired)."""
    expires_at: datetime | None = None
    state_note: str | None = None
    set_by: str | None = None
    set_at: datetime | None = None
    comments: int = 0
    flagged: int = 0
    rejected: int = 0
    reports: int = 0
    """Reader reports on their comments."""
    events: list[CommenterEvent] = field(default_factory=list)
    """State changes and notes, newest first."""

    @property
    def notes(self) -> list[CommenterEvent]:
        return [event for event in self.events if event.action == NOTE_EVENT]


def parse_key(key: str) -> str:
    """`user:<id>`, `email:<sha256>`, or `email:<address>` (hashed here; the address is never stored)."""
    key = key.strip()
    if key.startswith(USER_KEY) and key.removeprefix(USER_KEY).strip() not in ("", "0"):
        return key
    if key.startswith(EMAIL_KEY):
        value = key.removeprefix(EMAIL_KEY).strip()
        if SHA256.fullmatch(value):
            return key
        if "@" in value:
            return f"{EMAIL_KEY}{email_hash(value)}"
    raise CommenterError(
        f"{key!r} is not a commenter: write user:<the source's user id> or email:<address or its sha256> "
        "(a display name is not an identity)"
    )


def key_of(author_id: str | None, author_email_hash: str | None) -> str | None:
    """The commenter key of a comment's author, None for a guest known by name only."""
    return commenter_key(author_id, author_email_hash)


@dataclass(frozen=True)
class StateChange:
    commenter: CommenterProfile
    rejected: BulkOutcome | None = None
    """With `reject_open`: the open items rejected, and those refused with why."""


def set_state(
    db: Database,
    source: str,
    key: str,
    state: str | None,
    *,
    actor: Moderator,
    now: datetime,
    expires_at: datetime | None = None,
    note: str | None = None,
    reject_open: str | None = None,
    rules: ReviewSettings | None = None,
    codes_by_source: Mapping[str, Sequence[str]] | None = None,
) -> StateChange:
    """Set (or, with None, clear) the commenter's state; admins only. Audited as a `state` event.

    With `reject_open` (a reason code; bans only) also reject every open queue item of the commenter's
    comments on `source`, as Coral's "reject existing comments" does: each is `actor`'s decision, audited and
    applied on the site like any other; an item another moderator holds, or that only an admin may decide,
    is refused and reported, as in bulk decisions. A bad state, key or reason changes nothing.
    """
    if not actor.is_admin:
        raise NotAllowed(f"only an admin may set a commenter's state; {actor.name} is a {actor.role}")
    key = parse_key(key)
    if state is not None and state not in COMMENTER_STATES:
        raise CommenterError(f"unknown state {state!r}: use one of {', '.join(COMMENTER_STATES)}, or clear")
    if state == CommenterState.TRUSTED and not key.startswith(USER_KEY):
        raise CommenterError(
            f"only a registered user (user:<id>) can be trusted, not {key}: an e-mail address is whatever a guest types"
        )
    if expires_at is not None and expires_at <= now:
        raise CommenterError(f"the expiry {expires_at.isoformat()} is already past")
    rules = rules or ReviewSettings()
    if reject_open is not None:
        if state != CommenterState.BANNED:
            raise CommenterError(f"open items are rejected only with a ban, not with {state or 'none'}")
        codes = source_codes(source, rules, codes_by_source)
        check_decision(QueueStatus.REJECTED, reject_open, None, rules, codes=codes, source=source)
    note = _clean_note(note)
    with db.session() as session:
        row = _row(session, source, key, now)
        row.state, row.state_expires_at, row.state_note = state, expires_at if state else None, note
        row.state_set_by, row.state_set_at = actor.name, now
        session.add(_event(row, actor.name, STATE_EVENT, now, state=state, expires_at=row.state_expires_at, note=note))
    found = profile(db, source, key, now)
    if reject_open is None:
        return StateChange(found)
    with db.session() as session:
        open_items = session.execute(
            select(QueueItemRow.id, QueueItemRow.version)
            .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
            .where(*written_by(source, key), QueueItemRow.status.in_(OPEN_STATUSES))
            .order_by(QueueItemRow.id)
        ).all()
    rejected = bulk_decide(
        db,
        [(item_id, version) for item_id, version in open_items],
        QueueStatus.REJECTED,
        moderator=actor,
        now=now,
        rules=rules,
        reason_code=reject_open,
        note=f"{key} banned",
        codes_by_source=codes_by_source,
    )
    return StateChange(found, rejected)


def add_note(db: Database, source: str, key: str, note: str, *, actor: Moderator, now: datetime) -> CommenterProfile:
    """A moderator's note on a commenter (any moderator), kept as a `note` event."""
    key = parse_key(key)
    text = _clean_note(note)
    if not text:
        raise CommenterError("the note is empty")
    with db.session() as session:
        row = _row(session, source, key, now)
        session.add(_event(row, actor.name, NOTE_EVENT, now, note=text))
    return profile(db, source, key, now)


def profile(db: Database, source: str, key: str, now: datetime, events: int = 50) -> CommenterProfile:
    """The commenter's state, their counts (derived from their comments) and their latest events."""
    key = parse_key(key)
    found = CommenterProfile(source=source, key=key)
    mine = written_by(source, key)
    with db.session() as session:
        found.comments = int(session.scalar(select(func.count()).select_from(CommentRow).where(*mine)) or 0)
        by_status = session.execute(
            select(QueueItemRow.status, func.count(func.distinct(QueueItemRow.comment_id)))
            .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
            .where(*mine)
            .group_by(QueueItemRow.status)
        )
        statuses = {status: int(count) for status, count in by_status}
        found.flagged = sum(statuses.values())
        found.rejected = statuses.get(QueueStatus.REJECTED, 0)
        found.reports = int(
            session.scalar(
                select(func.coalesce(func.sum(CommentReportRow.count), 0))
                .join(CommentRow, CommentReportRow.comment_id == CommentRow.id)
                .where(*mine)
            )
            or 0
        )
        row = session.scalars(
            select(CommenterRow).where(CommenterRow.source == source, CommenterRow.key == key)
        ).first()
        if row is not None:
            _fill_state(found, row, now)
            found.events = [
                _view(event)
                for event in session.scalars(
                    select(CommenterEventRow)
                    .where(CommenterEventRow.commenter_id == row.id)
                    .order_by(CommenterEventRow.id.desc())
                    .limit(events)
                )
            ]
    return found


def list_commenters(
    db: Database, now: datetime, *, state: str | None = None, source: str | None = None, limit: int = 100
) -> list[CommenterProfile]:
    """Commenters with a state in force (or `state` only), newest change first, without their counts."""
    if state is not None and state not in COMMENTER_STATES:
        raise CommenterError(f"unknown state {state!r}: use one of {', '.join(COMMENTER_STATES)}")
    query = select(CommenterRow).where(
        CommenterRow.state.is_not(None),
        or_(CommenterRow.state_expires_at.is_(None), CommenterRow.state_expires_at > now),
    )
    if state is not None:
        query = query.where(CommenterRow.state == state)
    if source is not None:
        query = query.where(CommenterRow.source == source)
    listed: list[CommenterProfile] = []
    with db.session() as session:
        for row in session.scalars(
            query.order_by(CommenterRow.state_set_at.desc(), CommenterRow.id.desc()).limit(limit)
        ):
            found = CommenterProfile(source=row.source, key=row.key)
            _fill_state(found, row, now)
            listed.append(found)
    return listed


def _row(session: Session, source: str, key: str, now: datetime) -> CommenterRow:
    """The commenter's row, created on first use (two admins at once: the second insert fails and is retried by
    them, never merged silently)."""
    row = session.scalars(select(CommenterRow).where(CommenterRow.source == source, CommenterRow.key == key)).first()
    if row is None:
        row = CommenterRow(source=source, key=key, created_at=now)
        session.add(row)
        session.flush()
    return row


def _fill_state(found: CommenterProfile, row: CommenterRow, now: datetime) -> None:
    expires = row.state_expires_at
    active = row.state is not None and (expires is None or expires > now)
    found.state = row.state if active else None
    found.expires_at = expires if active else None
    found.state_note = row.state_note
    found.set_by = row.state_set_by
    found.set_at = row.state_set_at


def _event(row: CommenterRow, actor: str, action: str, now: datetime, **values: Any) -> CommenterEventRow:
    return CommenterEventRow(commenter_id=row.id, actor=actor, action=action, created_at=now, **values)


def _view(event: CommenterEventRow) -> CommenterEvent:
    return CommenterEvent(event.actor, event.action, event.state, event.expires_at, event.note, event.created_at)


def _clean_note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > NOTE_LENGTH:
        raise CommenterError(f"the note is {len(text)} characters long; at most {NOTE_LENGTH}")
    return text or None
