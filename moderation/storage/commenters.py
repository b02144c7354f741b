"""What the pipeline reads about the authors of the comments it decides: the admin's state (trusted, always
review, banned, while unexpired) and their history, derived from `comments` and `review_queue` (never
counted separately, so it cannot drift). The admin verbs that write `commenters` are in review/commenters.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from moderation.models import EMAIL_KEY, USER_KEY, CommenterRecord, QueueStatus, commenter_key
from moderation.storage.tables import CommenterRow, CommentRow, QueueItemRow


@dataclass(frozen=True)
class Author:
    """One comment of a batch, as far as its author goes."""

    row_id: int
    source: str
    author_id: str | None
    author_email_hash: str | None


def records_for(
    session: Session, authors: Sequence[Author], now: datetime, since: datetime
) -> dict[int, CommenterRecord]:
    """Comment row id -> its author's record, for the comments whose source identifies their author.

    `earlier_comments` counts their comments stored before the batch plus those earlier in it; `recent_*` count
    their comments written since `since`, stored before the batch. A few grouped queries per source, whatever
    the batch size.
    """
    return _records(session, authors, now, since, first=min((a.row_id for a in authors), default=0))


def records_before_storing(
    session: Session, authors: Sequence[Author], now: datetime, since: datetime
) -> dict[int, CommenterRecord]:
    """As `records_for`, for comments decided before they are stored (`moderation api`): `row_id` is only
    their position in the request, and every stored comment counts as earlier."""
    return _records(session, authors, now, since, first=None)


def _records(
    session: Session, authors: Sequence[Author], now: datetime, since: datetime, first: int | None
) -> dict[int, CommenterRecord]:
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for author in authors:
        key = commenter_key(author.author_id, author.author_email_hash)
        if key is not None:
            by_key[(author.source, key)].append(author.row_id)
    if not by_key:
        return {}
    keys_by_source: dict[str, list[str]] = defaultdict(list)
    for source, key in by_key:
        keys_by_source[source].append(key)
    states: dict[tuple[str, str], str] = {}
    history: dict[tuple[str, str], tuple[int, int, int]] = {}
    for source, keys in keys_by_source.items():
        states.update(((source, key), state) for key, state in active_states(session, source, keys, now).items())
        history.update(((source, key), counts) for key, counts in _history(session, source, keys, first, since).items())
    records: dict[int, CommenterRecord] = {}
    for (source, key), row_ids in by_key.items():
        earlier, recent, rejected = history.get((source, key), (0, 0, 0))
        for position, row_id in enumerate(sorted(row_ids)):
            records[row_id] = CommenterRecord(key, states.get((source, key)), earlier + position, recent, rejected)
    return records


def active_states(session: Session, source: str, keys: Sequence[str], now: datetime) -> dict[str, str]:
    """key -> state, for the keys whose state is set and not expired."""
    query = select(CommenterRow.key, CommenterRow.state).where(
        CommenterRow.source == source,
        CommenterRow.key.in_(list(keys)),
        CommenterRow.state.is_not(None),
        or_(CommenterRow.state_expires_at.is_(None), CommenterRow.state_expires_at > now),
    )
    return {key: state for key, state in session.execute(query) if state is not None}


def written_by(source: str, key: str) -> list[ColumnElement[bool]]:
    """WHERE conditions for the comments of commenter `key` on `source`."""
    if key.startswith(USER_KEY):
        return [CommentRow.source == source, CommentRow.author_id == key.removeprefix(USER_KEY)]
    return [
        CommentRow.source == source,
        CommentRow.author_id.is_(None),
        CommentRow.author_email_hash == key.removeprefix(EMAIL_KEY),
    ]


def _history(
    session: Session, source: str, keys: Sequence[str], first: int | None, since: datetime
) -> dict[str, tuple[int, int, int]]:
    """key -> (comments stored before row `first` (None: all stored), of those written since `since`, of those
    rejected)."""
    users = [k.removeprefix(USER_KEY) for k in keys if k.startswith(USER_KEY)]
    emails = [k.removeprefix(EMAIL_KEY) for k in keys if k.startswith(EMAIL_KEY)]
    found: dict[str, tuple[int, int, int]] = {}
    if users:
        rows = _grouped(session, CommentRow.author_id, [CommentRow.author_id.in_(users)], source, first, since)
        found.update((f"{USER_KEY}{value}", counts) for value, counts in rows.items())
    if emails:
        conditions = [CommentRow.author_id.is_(None), CommentRow.author_email_hash.in_(emails)]
        rows = _grouped(session, CommentRow.author_email_hash, conditions, source, first, since)
        found.update((f"{EMAIL_KEY}{value}", counts) for value, counts in rows.items())
    return found


def _grouped(
    session: Session,
    column: Any,
    conditions: Sequence[ColumnElement[bool]],
    source: str,
    first: int | None,
    since: datetime,
) -> dict[str, tuple[int, int, int]]:
    rejected = (
        select(QueueItemRow.id)
        .where(QueueItemRow.comment_id == CommentRow.id, QueueItemRow.status == QueueStatus.REJECTED)
        .exists()
    )
    recent = func.coalesce(CommentRow.created_at, CommentRow.ingested_at) >= since
    query = (
        select(
            column,
            func.count(),
            func.sum(case((recent, 1), else_=0)),
            func.sum(case((recent & rejected, 1), else_=0)),
        )
        .where(CommentRow.source == source, *conditions)
        .group_by(column)
    )
    if first is not None:
        query = query.where(CommentRow.id < first)
    return {value: (int(n), int(r or 0), int(x or 0)) for value, n, r, x in session.execute(query)}
