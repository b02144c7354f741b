"""The pipeline's write paths, one named verb each. Every insert is idempotent, so reruns add nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from moderation.errors import StorageError
from moderation.models import Comment, CommentScore, Decision, Post, RejectedRecord, Thread
from moderation.sources.base import Batch
from moderation.storage import outbox
from moderation.storage.engine import Database
from moderation.storage.outbox import AlertRule
from moderation.storage.tables import (
    CommentRow,
    ModerationActionRow,
    PostRow,
    QueueItemRow,
    RejectedInputRow,
    ScoreRow,
    WatermarkRow,
)

CHUNK = 500
SYSTEM_ACTOR = "system"


@dataclass
class IngestCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class StoredComment:
    row_id: int
    source: str
    comment: Comment
    content_hash: str


@dataclass
class ResultCounts:
    scored: int = 0
    queued: set[int] = field(default_factory=set)
    """Row ids of the comments that this call put in the review queue."""
    queue_items: dict[int, int] = field(default_factory=dict)
    """Comment row id -> review-queue item id, for the comments in `queued`."""
    alerts: int = 0
    """Alert-outbox rows (one per alert per channel) written with the queue rows."""


# ---- ingest -------------------------------------------------------------------------------------


def save_batch(db: Database, batch: Batch, now: datetime) -> IngestCounts:
    """Store a source batch: posts, new or edited comments, rejected records. One transaction."""
    counts = IngestCounts()
    with db.session() as session:
        post_ids = _save_posts(session, batch.source, batch.posts, batch.comments)
        for chunk in _chunks(batch.comments, CHUNK):
            _save_comments(session, batch.source, chunk, post_ids, now, counts)
        counts.rejected = _save_rejected(session, batch.rejected, now)
    return counts


def _save_posts(session: Session, source: str, posts: list[Post], comments: list[Comment]) -> dict[str, int]:
    known = {post.id: post for post in posts}
    for comment in comments:
        if comment.post_id is not None and comment.post_id not in known:
            known[comment.post_id] = Post(id=comment.post_id)
    if not known:
        return {}
    rows = [
        {
            "source": source,
            "external_id": p.id,
            "title": p.title,
            "body": p.body,
            "author": p.author,
            "published_at": _utc(p.published_at),
        }
        for p in known.values()
    ]
    _insert_ignore(session, PostRow, rows, ["source", "external_id"])
    for post in posts:  # a posts file or record with details updates the placeholder
        session.query(PostRow).filter_by(source=source, external_id=post.id).update(
            {"title": post.title, "body": post.body, "author": post.author, "published_at": _utc(post.published_at)}
        )
    found = session.execute(
        select(PostRow.external_id, PostRow.id).where(PostRow.source == source, PostRow.external_id.in_(list(known)))
    )
    return {external_id: row_id for external_id, row_id in found}


def _save_comments(
    session: Session,
    source: str,
    comments: list[Comment],
    post_ids: dict[str, int],
    now: datetime,
    counts: IngestCounts,
) -> None:
    latest = {c.id: c for c in comments}  # a repeated id in one batch: the last one wins
    existing = {
        row.external_id: row
        for row in session.scalars(
            select(CommentRow).where(CommentRow.source == source, CommentRow.external_id.in_(list(latest)))
        )
    }
    new_rows = []
    for comment in latest.values():
        row = existing.get(comment.id)
        if row is None:
            new_rows.append(_comment_values(source, comment, post_ids, now))
        elif row.content_hash != comment.content_hash:
            row.text, row.content_hash, row.updated_at = comment.text, comment.content_hash, now
            counts.updated += 1
        else:
            counts.unchanged += 1
    inserted = _insert_ignore(session, CommentRow, new_rows, ["source", "external_id"])
    counts.new += inserted
    counts.unchanged += len(new_rows) - inserted  # inserted meanwhile by a concurrent run


def _comment_values(source: str, comment: Comment, post_ids: dict[str, int], now: datetime) -> dict[str, Any]:
    return {
        "source": source,
        "external_id": comment.id,
        "post_id": post_ids.get(comment.post_id) if comment.post_id else None,
        "post_external_id": comment.post_id,
        "author": comment.author,
        "parent_external_id": comment.parent_id,
        "created_at": _utc(comment.created_at),
        "text": comment.text,
        "content_hash": comment.content_hash,
        "ingested_at": now,
        "updated_at": now,
    }


def _save_rejected(session: Session, rejected: list[RejectedRecord], now: datetime) -> int:
    rows = [
        {
            "source": r.source,
            "location": r.location,
            "external_id": r.external_id,
            "error": r.error,
            "raw": r.raw[:10_000],
            "created_at": now,
        }
        for r in rejected
    ]
    _insert_ignore(session, RejectedInputRow, rows, ["source", "location"])
    return len(rows)


def get_watermark(db: Database, source: str) -> dict[str, Any] | None:
    with db.session() as session:
        row = session.get(WatermarkRow, source)
        return dict(row.position) if row else None


def set_watermark(db: Database, source: str, position: dict[str, Any], now: datetime) -> None:
    with db.session() as session:
        row = session.get(WatermarkRow, source)
        if row is None:
            session.add(WatermarkRow(source=source, position=position, updated_at=now))
        else:
            row.position, row.updated_at = position, now


# ---- scoring ------------------------------------------------------------------------------------


def next_unscored(db: Database, scorer_version: str, after_row_id: int, limit: int) -> list[StoredComment]:
    """Comments (in id order, after `after_row_id`) whose current text has no score from this scorer version."""
    scored = select(ScoreRow.id).where(
        ScoreRow.comment_id == CommentRow.id,
        ScoreRow.content_hash == CommentRow.content_hash,
        ScoreRow.scorer_version == scorer_version,
    )
    query: Select[Any] = (
        select(CommentRow).where(CommentRow.id > after_row_id, ~scored.exists()).order_by(CommentRow.id).limit(limit)
    )
    with db.session() as session:
        return [_stored(row) for row in session.scalars(query)]


def load_threads(db: Database, batch: Sequence[StoredComment]) -> dict[int, Thread]:
    """The thread of each comment in the batch: its post, its parent, and who takes part in the post's thread.

    Cost is one query per kind for the whole batch, independent of thread size beyond the author list.
    """
    with db.session() as session:
        parents = _parents(session, batch)
        posts = _posts(session, batch)
        authors = _thread_authors(session, batch)
    threads: dict[int, Thread] = {}
    for item in batch:
        key = (item.source, item.comment.post_id)
        known = [item.comment]
        parent = parents.get((item.source, item.comment.parent_id or ""))
        if parent is not None:
            known.append(parent)
        thread = Thread.of(known, post=posts.get(key))
        thread.authors = authors.get(key, set())
        threads[item.row_id] = thread
    return threads


def _parents(session: Session, batch: Sequence[StoredComment]) -> dict[tuple[str, str], Comment]:
    wanted = {(i.source, i.comment.parent_id) for i in batch if i.comment.parent_id}
    if not wanted:
        return {}
    rows = session.scalars(select(CommentRow).where(tuple_(CommentRow.source, CommentRow.external_id).in_(wanted)))
    return {(row.source, row.external_id): _stored(row).comment for row in rows}


def _posts(session: Session, batch: Sequence[StoredComment]) -> dict[tuple[str, str | None], Post]:
    wanted = {(i.source, i.comment.post_id) for i in batch if i.comment.post_id}
    if not wanted:
        return {}
    rows = session.scalars(select(PostRow).where(tuple_(PostRow.source, PostRow.external_id).in_(wanted)))
    return {(r.source, r.external_id): Post(r.external_id, r.title, r.body, r.author, r.published_at) for r in rows}


def _thread_authors(session: Session, batch: Sequence[StoredComment]) -> dict[tuple[str, str | None], set[str]]:
    wanted = {(i.source, i.comment.post_id) for i in batch if i.comment.post_id}
    authors: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    if not wanted:
        return authors
    rows = session.execute(
        select(CommentRow.source, CommentRow.post_external_id, CommentRow.author)
        .where(tuple_(CommentRow.source, CommentRow.post_external_id).in_(wanted))
        .distinct()
    )
    for source, post_id, author in rows:
        authors[(source, post_id)].add(author)
    return authors


def save_results(
    db: Database,
    results: Sequence[tuple[StoredComment, CommentScore, Decision]],
    scorer: str,
    scorer_version: str,
    now: datetime,
    alert_rule: AlertRule | None = None,
) -> ResultCounts:
    """Scores, queue items for flagged comments, one audit row per decision, and the alerts the new
    queue items cause (`alert_rule`; none without one), in one transaction.

    Only results whose score row is new produce queue, audit and alert rows, so a rerun (or a
    concurrent run that scored the same comments) adds nothing twice.
    """
    counts = ResultCounts()
    with db.session() as session:
        score_ids = _insert_scores(session, results, scorer, scorer_version, now)
        fresh = [r for r in results if r[0].row_id in score_ids]
        counts.scored = len(fresh)
        queue_ids = _insert_queue_items(session, [r for r in fresh if r[2].flagged], score_ids, now)
        counts.queued = set(queue_ids)
        counts.queue_items = dict(queue_ids)
        session.add_all(
            ModerationActionRow(
                comment_id=stored.row_id,
                queue_item_id=queue_ids.get(stored.row_id),
                content_hash=stored.content_hash,
                from_status=None,
                to_status=decision.status,
                reason=_audit_reason(decision),
                actor=SYSTEM_ACTOR,
                scorer=scorer_version,
                scores=score.all_scores(),
                created_at=now,
            )
            for stored, score, decision in fresh
        )
        if alert_rule is not None:
            counts.alerts = outbox.add_alerts_for_items(session, queue_ids.values(), alert_rule, now)
    return counts


def _insert_scores(
    session: Session,
    results: Sequence[tuple[StoredComment, CommentScore, Decision]],
    scorer: str,
    scorer_version: str,
    now: datetime,
) -> dict[int, int]:
    rows = [
        {
            "comment_id": stored.row_id,
            "content_hash": stored.content_hash,
            "scorer": scorer,
            "scorer_version": scorer_version,
            "labels": score.scores,
            "attack_on_commenter": score.attack_on_commenter,
            "attack_target": score.attack_target,
            "evidence": {label: [list(span) for span in spans] for label, spans in score.evidence.items()},
            "scored_at": now,
        }
        for stored, score, _ in results
    ]
    keys = ["comment_id", "content_hash", "scorer", "scorer_version"]
    inserted = _insert_ignore_returning(session, ScoreRow, rows, keys, ScoreRow.comment_id, ScoreRow.id)
    return dict(inserted)


def _insert_queue_items(
    session: Session,
    flagged: Sequence[tuple[StoredComment, CommentScore, Decision]],
    score_ids: dict[int, int],
    now: datetime,
) -> dict[int, int]:
    rows = [
        {
            "comment_id": stored.row_id,
            "content_hash": stored.content_hash,
            "score_id": score_ids.get(stored.row_id),
            "reasons": dict(decision.reasons),
            "attack_target": decision.attack_target,
            "priority": decision.priority,
            "status": "pending",
            "version": 1,
            "created_at": now,
        }
        for stored, _, decision in flagged
    ]
    inserted = _insert_ignore_returning(
        session, QueueItemRow, rows, ["comment_id", "content_hash"], QueueItemRow.comment_id, QueueItemRow.id
    )
    return dict(inserted)


def _audit_reason(decision: Decision) -> str:
    labels = ", ".join(f"{label}={value:.2f}" for label, value in sorted(decision.reasons.items()))
    parts = [p for p in (labels, decision.explanation) if p]
    return "; ".join(parts) or "below every threshold"


# ---- helpers for idempotent inserts ---------------------------------------------------------------


def _dialect_insert(session: Session, table: type[Any]) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise StorageError(f"the moderation database must be SQLite or PostgreSQL, not {name}")


def _insert_ignore(session: Session, table: type[Any], rows: list[dict[str, Any]], keys: list[str]) -> int:
    """Insert rows, skipping any that collide on `keys`; returns how many were inserted."""
    if not rows:
        return 0
    statement = _dialect_insert(session, table).on_conflict_do_nothing(index_elements=keys)
    inserted = 0
    for chunk in _chunks(rows, CHUNK):
        inserted += len(session.execute(statement.values(chunk).returning(table.id)).all())
    return inserted


def _insert_ignore_returning(
    session: Session, table: type[Any], rows: list[dict[str, Any]], keys: list[str], *columns: Any
) -> list[tuple[Any, ...]]:
    if not rows:
        return []
    statement = _dialect_insert(session, table).on_conflict_do_nothing(index_elements=keys)
    found: list[tuple[Any, ...]] = []
    for chunk in _chunks(rows, CHUNK):
        found.extend(tuple(r) for r in session.execute(statement.values(chunk).returning(*columns)))
    return found


def _chunks(items: Sequence[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _stored(row: CommentRow) -> StoredComment:
    comment = Comment(
        id=row.external_id,
        text=row.text,
        author=row.author,
        post_id=row.post_external_id,
        parent_id=row.parent_external_id,
        created_at=row.created_at,
    )
    return StoredComment(row.id, row.source, comment, row.content_hash)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
