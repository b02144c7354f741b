"""The pipeline's write paths, one named verb each. Every insert is idempotent, so reruns add nothing."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from moderation.models import (
    OPEN_STATUSES,
    SITE_APPROVED,
    SITE_HELD,
    SITE_REMOVED,
    SYSTEM_ACTOR,
    AlertRule,
    Batch,
    Comment,
    CommenterRecord,
    CommentScore,
    Decision,
    Post,
    QueueStatus,
    RejectedRecord,
    ReportRule,
    SitePlan,
    Thread,
)
from moderation.sources.storable import ID_LENGTH, LOCATION_LENGTH, clip, make_storable
from moderation.storage import commenters, outbox, reports, site_actions
from moderation.storage.engine import Database, dialect_insert, rowcount
from moderation.storage.tables import (
    CommentRow,
    ModerationActionRow,
    PostRow,
    QueueItemRow,
    RejectedInputRow,
    ScoreRow,
    ScoringFailureRow,
    WatermarkRow,
    to_utc,
)

CHUNK = 500
KEYS = ["source", "external_id"]
SITE_ACTOR = "site"
"""The actor of queue decisions taken on the site itself (a comment approved, trashed or spammed there)."""
LOCK_NAMESPACE = 7_000_001
"""First key of this package's PostgreSQL advisory locks (the second is derived from the source name)."""


@dataclass
class IngestCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    repaired: int = 0
    """Fields of records in which characters no database can hold were replaced (sources/storable.py)."""
    closed_by_site: int = 0
    """Open queue items closed because the comment was approved, spammed, trashed or removed on the site."""


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
    site_actions: int = 0
    """Site-action rows written for the pipeline's own decisions (pre-moderation holds)."""
    """Comment row id -> review-queue item id, for the comments in `queued`."""
    alerts: int = 0
    """Alert-outbox rows (one per alert per channel) written with the queue rows."""


# ---- ingest -------------------------------------------------------------------------------------


def save_batch(db: Database, batch: Batch, now: datetime, report_rule: ReportRule | None = None) -> IngestCounts:
    """Store a source batch: posts, new or edited comments, their reader reports, rejected records. One
    transaction. Reports on a comment already scored do what `report_rule` says (storage/reports.py).

    When a record cannot be stored (a value the database refuses), the records are stored in halves,
    and halves of those, until each one that fails is alone; it is stored as a rejected input with the
    database's reason, and every other record of the page is stored.
    """
    try:
        with db.session() as session:
            counts = _save_page(session, batch.source, batch.posts, batch.comments, now, report_rule)
            counts.rejected = _save_rejected(session, batch.rejected, now)
        return counts
    except Exception as exc:
        if not _is_bad_record(exc):
            raise
    counts = IngestCounts()
    bad_posts = _isolate(db, batch.posts, lambda session, part: _save_posts_only(session, batch.source, part), counts)
    bad_comments = _isolate(
        db,
        batch.comments,
        lambda session, part: _save_page(session, batch.source, [], part, now, report_rule),
        counts,
    )
    rejected = [
        *batch.rejected,
        *(_unstorable(batch.source, f"post {post.id}", post.id, post, error) for post, error in bad_posts),
        *(
            _unstorable(batch.source, batch.locations.get(c.id, f"comment {c.id}"), c.id, c, error)
            for c, error in bad_comments
        ),
    ]
    with db.session() as session:
        counts.rejected = _save_rejected(session, rejected, now)
    return counts


def _save_page(
    session: Session,
    source: str,
    posts: list[Post],
    comments: list[Comment],
    now: datetime,
    report_rule: ReportRule | None = None,
) -> IngestCounts:
    counts = IngestCounts()
    post_ids = _save_posts(session, source, posts, comments)
    for chunk in _chunks(comments, CHUNK):
        _save_comments(session, source, chunk, post_ids, now, counts)
    reported = {c.id: c.reports for c in comments if c.reports and c.site_status not in SITE_REMOVED}
    reports.sync_from_source(session, source, reported, now, report_rule)
    return counts


def _save_posts_only(session: Session, source: str, posts: list[Post]) -> IngestCounts:
    _save_posts(session, source, posts, [])
    return IngestCounts()


def _isolate(
    db: Database,
    items: list[Any],
    save: Callable[[Session, list[Any]], IngestCounts],
    counts: IngestCounts,
) -> list[tuple[Any, str]]:
    """Save `items` in one transaction, or, when one of them cannot be stored, each half in its own
    (recursively); returns the items that failed alone, with the reason. Adds what was saved to `counts`."""
    if not items:
        return []
    try:
        with db.session() as session:
            saved = save(session, items)
    except Exception as exc:
        if not _is_bad_record(exc):
            raise
        if len(items) == 1:
            return [(items[0], _storage_reason(exc))]
        middle = len(items) // 2
        return _isolate(db, items[:middle], save, counts) + _isolate(db, items[middle:], save, counts)
    for name in ("new", "updated", "unchanged"):
        setattr(counts, name, getattr(counts, name) + getattr(saved, name))
    return []


def _is_bad_record(exc: BaseException) -> bool:
    """Whether the database refused a value (so the record is at fault), not the connection or the schema."""
    if isinstance(exc, DataError | IntegrityError | ValueError | OverflowError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


def _storage_reason(exc: BaseException) -> str:
    """The database's one-line reason, without the SQL or its parameters."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"could not be stored: {reason[0] if reason else type(exc).__name__}"


def _unstorable(source: str, location: str, external_id: str, record: Comment | Post, error: str) -> RejectedRecord:
    return RejectedRecord(source, location, error, json.dumps(asdict(record), default=str), external_id)


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
            "published_at": p.published_at,
        }
        for p in known.values()
    ]
    _insert_ignore(session, PostRow, rows, ["source", "external_id"])
    for post in posts:  # a posts file or record with details updates the placeholder
        session.query(PostRow).filter_by(source=source, external_id=post.id).update(
            {"title": post.title, "body": post.body, "author": post.author, "published_at": post.published_at}
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
    # Insert first: new comments (the usual case) cost one statement; only the rest are compared.
    # A comment first seen already spammed or trashed on the site is not stored: nobody sees it there.
    rows = [
        _comment_values(source, comment, post_ids, now)
        for comment in latest.values()
        if comment.site_status not in SITE_REMOVED
    ]
    inserted = {row[0] for row in _insert_ignore_returning(session, CommentRow, rows, KEYS, "external_id")}
    counts.new += len(inserted)
    known = [external_id for external_id in latest if external_id not in inserted]
    if not known:
        return
    stored = select(CommentRow).where(CommentRow.source == source, CommentRow.external_id.in_(known))
    for row in session.scalars(stored):
        comment = latest[row.external_id]
        row.author_id = comment.author_id
        row.author_email_hash = comment.author_email_hash or row.author_email_hash  # e.g. read without a password
        row.url = comment.url or row.url
        if comment.site_status is not None and comment.site_status != row.site_status:
            counts.closed_by_site += _close_for_site_status(session, row, row.site_status, comment.site_status, now)
            row.site_status = comment.site_status
        if row.content_hash != comment.content_hash:
            row.text, row.content_hash, row.updated_at = comment.text, comment.content_hash, now
            row.text_purged_at = None
            counts.updated += 1
        else:
            counts.unchanged += 1


def _close_for_site_status(
    session: Session, row: CommentRow, before: str | None, site_status: str, now: datetime
) -> int:
    """Close the comment's open queue items after a change made on the site, with an audit row by `site`.

    A held comment approved there: approved here; spammed, trashed or removed there: rejected here; put
    back on hold, or restored from spam or trash (as undoing a rejection does on the site): left open.
    Each item moves only from the status it was read with, so a moderator deciding at the same moment wins.
    """
    if site_status == SITE_APPROVED and before == SITE_HELD:
        to_status = QueueStatus.APPROVED
    elif site_status in SITE_REMOVED:
        to_status = QueueStatus.REJECTED
    else:
        return 0
    reason = f"{site_status} on the site"
    open_items = select(QueueItemRow).where(QueueItemRow.comment_id == row.id, QueueItemRow.status.in_(OPEN_STATUSES))
    closed = 0
    for item in list(session.scalars(open_items)):
        moved = session.execute(
            update(QueueItemRow)
            .where(QueueItemRow.id == item.id, QueueItemRow.status == item.status)
            .values(
                status=to_status,
                decided_by=SITE_ACTOR,
                decided_at=now,
                decision_code=None,
                decision_reason=reason,
                claimed_by=None,
                claimed_at=None,
                version=item.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if not rowcount(moved):
            continue
        session.add(
            ModerationActionRow(
                comment_id=row.id,
                queue_item_id=item.id,
                content_hash=item.content_hash,
                from_status=item.status,
                to_status=to_status,
                reason=reason,
                actor=SITE_ACTOR,
                created_at=now,
            )
        )
        closed += 1
    return closed


def _comment_values(source: str, comment: Comment, post_ids: dict[str, int], now: datetime) -> dict[str, Any]:
    return {
        "source": source,
        "external_id": comment.id,
        "post_id": post_ids.get(comment.post_id) if comment.post_id else None,
        "post_external_id": comment.post_id,
        "author": comment.author,
        "parent_external_id": comment.parent_id,
        "created_at": comment.created_at,
        "text": comment.text,
        "content_hash": comment.content_hash,
        "ingested_at": now,
        "updated_at": now,
        "author_id": comment.author_id,
        "author_email_hash": comment.author_email_hash,
        "site_status": comment.site_status,
        "url": comment.url,
    }


def _save_rejected(session: Session, rejected: list[RejectedRecord], now: datetime) -> int:
    """Rejected records as they are, made to fit their row (a rejected line may hold anything)."""
    rows = [
        {
            "source": r.source,
            "location": clip(make_storable(r.location), LOCATION_LENGTH),
            "external_id": None if r.external_id is None else clip(make_storable(r.external_id), ID_LENGTH),
            "error": make_storable(r.error),
            "raw": make_storable(r.raw[:10_000]),
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
    """Insert or replace the source's watermark (an upsert, so concurrent runs cannot collide)."""
    with db.session() as session:
        statement = dialect_insert(session, WatermarkRow).values(source=source, position=position, updated_at=now)
        session.execute(
            statement.on_conflict_do_update(index_elements=["source"], set_={"position": position, "updated_at": now})
        )


@contextmanager
def source_lock(db: Database, source: str) -> Iterator[bool]:
    """Whether this process may read `source` now: on PostgreSQL, a session advisory lock per source name,
    held until the block ends, so two runs never read the same source at once (the second skips it).
    SQLite serialises writers itself; there the answer is always yes.
    """
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    key = _lock_key(source)
    with db.connection() as connection:
        acquired = bool(
            connection.scalar(text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": key})
        )
        connection.commit()
        try:
            yield acquired
        finally:
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": key})
                connection.commit()


def _lock_key(source: str) -> int:
    """A signed 32-bit key from the source name (advisory locks take two int4 keys)."""
    return int.from_bytes(hashlib.sha256(source.encode("utf-8")).digest()[:4], "big", signed=True)


# ---- scoring ------------------------------------------------------------------------------------


def _unscored(scorer_version: str) -> Any:
    """Comments whose current text has no score from this scorer version, and did not make it fail."""
    scored = select(ScoreRow.id).where(
        ScoreRow.comment_id == CommentRow.id,
        ScoreRow.content_hash == CommentRow.content_hash,
        ScoreRow.scorer_version == scorer_version,
    )
    failed = select(ScoringFailureRow.id).where(
        ScoringFailureRow.comment_id == CommentRow.id,
        ScoringFailureRow.content_hash == CommentRow.content_hash,
        ScoringFailureRow.scorer_version == scorer_version,
    )
    return ~scored.exists() & ~failed.exists()


@dataclass(frozen=True)
class RowRange:
    """Comment row ids first..last (inclusive): one scoring batch, small enough to send to a worker."""

    first: int
    last: int


def unscored_ranges(db: Database, scorer_version: str, size: int) -> list[RowRange]:
    """The unscored comments cut into id ranges of at most `size` comments each (ids only are read)."""
    ranges: list[RowRange] = []
    first = last = count = 0
    query = select(CommentRow.id).where(_unscored(scorer_version)).order_by(CommentRow.id)
    with db.session() as session:
        for row_id in session.scalars(query.execution_options(yield_per=10_000)):
            if count == 0:
                first = row_id
            last, count = row_id, count + 1
            if count == size:
                ranges.append(RowRange(first, last))
                count = 0
    if count:
        ranges.append(RowRange(first, last))
    return ranges


class Claim:
    """Unscored comments of one range with their threads, held for one scorer until `save` is done."""

    def __init__(
        self,
        db: Database,
        session: Session | None,
        comments: list[StoredComment],
        threads: dict[int, Thread],
        commenters: dict[int, CommenterRecord] | None = None,
        report_counts: dict[int, int] | None = None,
    ):
        self.comments = comments
        self.threads = threads
        self.commenters = commenters or {}
        """Comment row id -> its author's state and history (comments whose source identifies the author)."""
        self.report_counts = report_counts or {}
        """Comment row id -> how many reader reports it has (comments without any are left out)."""
        self._db = db
        self._session = session

    def save(
        self,
        results: Sequence[tuple[StoredComment, CommentScore, Decision]],
        scorer: str,
        scorer_version: str,
        now: datetime,
        alert_rule: AlertRule | None = None,
        site_plan: SitePlan | None = None,
        failures: Sequence[tuple[StoredComment, str]] = (),
        report_rule: ReportRule | None = None,
    ) -> ResultCounts:
        """The results, and the comments the scorer failed on alone (with the error), in one transaction.

        With `report_rule`, reports that arrived while the comments were scored are applied to the saved
        decisions (SQLite reads and saves in two transactions; on PostgreSQL the comments are locked throughout).
        """
        if self._session is not None:
            return self._save(
                self._session, results, scorer, scorer_version, now, alert_rule, site_plan, failures, report_rule
            )
        with self._db.session() as session:
            return self._save(
                session, results, scorer, scorer_version, now, alert_rule, site_plan, failures, report_rule
            )

    def _save(
        self,
        session: Session,
        results: Sequence[tuple[StoredComment, CommentScore, Decision]],
        scorer: str,
        scorer_version: str,
        now: datetime,
        alert_rule: AlertRule | None,
        site_plan: SitePlan | None,
        failures: Sequence[tuple[StoredComment, str]],
        report_rule: ReportRule | None,
    ) -> ResultCounts:
        _save_failures(session, failures, scorer, scorer_version, now)
        counts = _save_results(session, results, scorer, scorer_version, now, alert_rule, site_plan)
        if report_rule is not None:
            reports.recheck(session, self.report_counts, [stored.row_id for stored, _, _ in results], now, report_rule)
        return counts


@contextmanager
def claim_unscored(
    db: Database, scorer_version: str, rows: RowRange, now: datetime | None = None, recent_since: datetime | None = None
) -> Iterator[Claim]:
    """The comments in `rows` still unscored by `scorer_version`, for scoring and saving in one go, with their
    reader reports and (given `now`) their authors' records, whose recent history starts at `recent_since`.

    On PostgreSQL they are locked (FOR UPDATE SKIP LOCKED) in one transaction with the save: a
    concurrent run skips them instead of scoring them twice, and a crash releases them. On SQLite,
    reading and saving are two transactions; the idempotent inserts keep a rerun from adding twice.
    """
    query = (
        select(*COMMENT_COLUMNS)
        .where(CommentRow.id.between(rows.first, rows.last), _unscored(scorer_version))
        .order_by(CommentRow.id)
    )
    if db.engine.dialect.name == "postgresql":
        with db.session() as session:
            locked = [_stored(row) for row in session.execute(query.with_for_update(skip_locked=True, of=CommentRow))]
            records, counts = _about(session, locked, now, recent_since)
            yield Claim(db, session, locked, _load_threads(session, locked), records, counts)
        return
    with db.session() as session:
        comments = [_stored(row) for row in session.execute(query)]
        threads = _load_threads(session, comments)
        records, counts = _about(session, comments, now, recent_since)
    yield Claim(db, None, comments, threads, records, counts)


def _about(
    session: Session, batch: Sequence[StoredComment], now: datetime | None, since: datetime | None
) -> tuple[dict[int, CommenterRecord], dict[int, int]]:
    """The authors' records (when `now` is given) and the reader reports of the batch's comments."""
    counts = reports.counts_for(session, [item.row_id for item in batch])
    if now is None or not batch:
        return {}, counts
    authors = [
        commenters.Author(item.row_id, item.source, item.comment.author_id, item.comment.author_email_hash)
        for item in batch
    ]
    return commenters.records_for(session, authors, now, since or now), counts


def _load_threads(session: Session, batch: Sequence[StoredComment]) -> dict[int, Thread]:
    """The thread of each comment in the batch: its post, its parent, and who takes part in the post's thread.

    Cost is one query per kind for the whole batch, independent of thread size beyond the author list.
    """
    if not batch:
        return {}
    parents = _parents(session, batch)
    posts = _posts(session, batch)
    authors = _thread_authors(session, batch)
    by_post: dict[tuple[str, str | None], Thread] = {}
    threads: dict[int, Thread] = {}
    for item in batch:
        key = (item.source, item.comment.post_id)
        thread = by_post.get(key)
        if thread is None:
            thread = by_post[key] = Thread(post=posts.get(key), authors=authors.get(key, set()))
        thread.comments[item.comment.id] = item.comment
        parent = parents.get((item.source, item.comment.parent_id or ""))
        if parent is not None:
            thread.comments[parent.id] = parent
        threads[item.row_id] = thread
    return threads


def _parents(session: Session, batch: Sequence[StoredComment]) -> dict[tuple[str, str], Comment]:
    found: dict[tuple[str, str], Comment] = {}
    for source, ids in _per_source((i.source, i.comment.parent_id) for i in batch).items():
        query = select(*COMMENT_COLUMNS).where(CommentRow.source == source, CommentRow.external_id.in_(ids))
        found.update(((source, row.external_id), _stored(row).comment) for row in session.execute(query))
    return found


def _posts(session: Session, batch: Sequence[StoredComment]) -> dict[tuple[str, str | None], Post]:
    found: dict[tuple[str, str | None], Post] = {}
    for source, ids in _per_source((i.source, i.comment.post_id) for i in batch).items():
        for r in session.scalars(select(PostRow).where(PostRow.source == source, PostRow.external_id.in_(ids))):
            found[(source, r.external_id)] = Post(r.external_id, r.title, r.body, r.author, r.published_at)
    return found


def _thread_authors(session: Session, batch: Sequence[StoredComment]) -> dict[tuple[str, str | None], set[str]]:
    authors: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for source, ids in _per_source((i.source, i.comment.post_id) for i in batch).items():
        query = (
            select(CommentRow.post_external_id, CommentRow.author)
            .where(CommentRow.source == source, CommentRow.post_external_id.in_(ids))
            .distinct()
        )
        for post_id, author in session.execute(query):
            authors[(source, post_id)].add(author)
    return authors


def _per_source(pairs: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """External ids grouped by source: `source = :s AND id IN (...)` uses the (source, id) indexes."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for source, external_id in pairs:
        if external_id:
            grouped[source].add(external_id)
    return {source: sorted(ids) for source, ids in grouped.items()}


def stored_comments(db: Database, source: str, external_ids: Sequence[str]) -> list[StoredComment]:
    """The stored comments of `source` with these ids (those stored; in no particular order)."""
    if not external_ids:
        return []
    with db.session() as session:
        query = select(*COMMENT_COLUMNS).where(
            CommentRow.source == source, CommentRow.external_id.in_(sorted(set(external_ids)))
        )
        return [_stored(row) for row in session.execute(query)]


def save_results(
    db: Database,
    results: Sequence[tuple[StoredComment, CommentScore, Decision]],
    scorer: str,
    scorer_version: str,
    now: datetime,
    alert_rule: AlertRule | None = None,
    site_plan: SitePlan | None = None,
) -> ResultCounts:
    """Scores, queue items for flagged comments, one audit row per decision, the alerts the new queue
    items cause (`alert_rule`; none without one) and the site actions of the decisions (`site_plan`:
    pre-moderation holds; none without one), in one transaction.

    Only results whose score row is new produce queue, audit, alert and site-action rows, so a rerun (or
    a concurrent run that scored the same comments) adds nothing twice.
    """
    with db.session() as session:
        return _save_results(session, results, scorer, scorer_version, now, alert_rule, site_plan)


def _save_results(
    session: Session,
    results: Sequence[tuple[StoredComment, CommentScore, Decision]],
    scorer: str,
    scorer_version: str,
    now: datetime,
    alert_rule: AlertRule | None = None,
    site_plan: SitePlan | None = None,
) -> ResultCounts:
    counts = ResultCounts()
    score_ids = _insert_scores(session, results, scorer, scorer_version, now)
    fresh = [r for r in results if r[0].row_id in score_ids]
    counts.scored = len(fresh)
    kept = [r for r in fresh if r[2].flagged or r[2].status == QueueStatus.REJECTED]
    queue_ids = _insert_queue_items(session, kept, score_ids, now)
    flagged_ids = {
        stored.row_id: queue_ids[stored.row_id] for stored, _, d in kept if d.flagged and stored.row_id in queue_ids
    }
    counts.queued = set(flagged_ids)
    counts.queue_items = flagged_ids
    audit = [
        {
            "comment_id": stored.row_id,
            "queue_item_id": queue_ids.get(stored.row_id),
            "content_hash": stored.content_hash,
            "from_status": None,
            "to_status": decision.status,
            "reason": _audit_reason(decision),
            "actor": SYSTEM_ACTOR,
            "scorer": scorer_version,
            "scores": score.all_scores(),
            "created_at": now,
        }
        for stored, score, decision in fresh
    ]
    audit_ids = dict(_insert_ignore_returning(session, ModerationActionRow, audit, None, "comment_id", "id"))
    if site_plan is not None:
        counts.site_actions = _add_site_actions(session, fresh, audit_ids, site_plan, now)
    if alert_rule is not None:
        counts.alerts = outbox.add_alerts_for_items(session, flagged_ids.values(), alert_rule, now)
    return counts


def _add_site_actions(
    session: Session,
    fresh: Sequence[tuple[StoredComment, CommentScore, Decision]],
    audit_ids: dict[int, int],
    site_plan: SitePlan,
    now: datetime,
) -> int:
    actions = [
        site_actions.PipelineAction(
            audit_ids[stored.row_id],
            stored.row_id,
            stored.source,
            stored.comment.id,
            planned,
            PIPELINE_CODE if decision.status == QueueStatus.REJECTED else None,
        )
        for stored, _, decision in fresh
        if stored.row_id in audit_ids and (planned := site_plan(stored.source, decision)) is not None
    ]
    return site_actions.add_for_pipeline(session, actions, SYSTEM_ACTOR, now)


def _save_failures(
    session: Session, failures: Sequence[tuple[StoredComment, str]], scorer: str, scorer_version: str, now: datetime
) -> None:
    """One row per failed comment revision (a concurrent run's row for the same one is kept)."""
    rows = [
        {
            "comment_id": stored.row_id,
            "content_hash": stored.content_hash,
            "scorer": scorer,
            "scorer_version": scorer_version,
            "error": make_storable(error),
            "failed_at": now,
        }
        for stored, error in failures
    ]
    _insert_ignore(session, ScoringFailureRow, rows, ["comment_id", "content_hash", "scorer_version"])


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
    inserted = _insert_ignore_returning(session, ScoreRow, rows, keys, "comment_id", "id")
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
            "version": 1,
            "created_at": now,
            **_status_values(decision, now),
        }
        for stored, _, decision in flagged
    ]
    inserted = _insert_ignore_returning(session, QueueItemRow, rows, ["comment_id", "content_hash"], "comment_id", "id")
    return dict(inserted)


def _status_values(decision: Decision, now: datetime) -> dict[str, Any]:
    """A flagged comment waits for review; one the pipeline rejected itself (a banned commenter's) is decided."""
    if decision.flagged:  # every row has the same keys: PostgreSQL inserts them as one JSON record set
        return {"status": QueueStatus.PENDING, "decided_by": None, "decided_at": None, "decision_code": None}
    return {"status": decision.status, "decided_by": SYSTEM_ACTOR, "decided_at": now, "decision_code": PIPELINE_CODE}


PIPELINE_CODE = "banned_commenter"
"""The reason code of the pipeline's own rejections (the site action carries it: `reject_status_by_reason`)."""


def _audit_reason(decision: Decision) -> str:
    labels = ", ".join(f"{label}={value:.2f}" for label, value in sorted(decision.reasons.items()))
    parts = [p for p in (labels, decision.explanation) if p]
    return "; ".join(parts) or "below every threshold"


# ---- retention ----------------------------------------------------------------------------------


@dataclass
class PurgeCounts:
    comments: int = 0
    rejected_inputs: int = 0
    kept_for_review: int = 0
    """Old comments whose text was kept because a moderator has yet to decide on them."""


def purge_text(db: Database, before: datetime, now: datetime) -> PurgeCounts:
    """Blank the text of comments written before `before`, and the raw input of old rejected records.

    Kept: content hashes, scores, queue items and the audit log, so decisions stay explained and an
    unchanged comment read again is not scored again. Comments with a pending or escalated queue item
    keep their text until a moderator decides. `comments.text_purged_at` records when.
    """
    counts = PurgeCounts()
    written = func.coalesce(CommentRow.created_at, CommentRow.ingested_at)
    open_items = select(QueueItemRow.id).where(
        QueueItemRow.comment_id == CommentRow.id, QueueItemRow.status.in_(OPEN_STATUSES)
    )
    old = [CommentRow.text_purged_at.is_(None), written < before]
    with db.session() as session:
        counts.comments = rowcount(
            session.execute(update(CommentRow).where(*old, ~open_items.exists()).values(text="", text_purged_at=now))
        )
        counts.kept_for_review = int(
            session.scalar(select(func.count()).select_from(CommentRow).where(*old, open_items.exists())) or 0
        )
        counts.rejected_inputs = rowcount(
            session.execute(
                update(RejectedInputRow)
                .where(RejectedInputRow.created_at < before, RejectedInputRow.raw != "")
                .values(raw="")
            )
        )
    return counts


# ---- helpers for idempotent inserts ---------------------------------------------------------------


def _insert_ignore(session: Session, table: type[Any], rows: list[dict[str, Any]], keys: list[str]) -> int:
    """Insert rows, skipping any that collide on `keys`; returns how many were inserted."""
    return len(_insert_ignore_returning(session, table, rows, keys, "id"))


def _insert_ignore_returning(
    session: Session, table: type[Any], rows: list[dict[str, Any]], keys: list[str] | None, *names: str
) -> list[tuple[Any, ...]]:
    """Insert rows, skipping any that collide on `keys`; returns the `names` columns of the inserted ones."""
    if not rows:
        return []
    core = table.__table__
    if session.get_bind().dialect.name == "postgresql":
        return _insert_json_rows(session, core, rows, keys, names)
    statement = dialect_insert(session, core)
    if keys:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    if not names:
        session.execute(statement, rows)
        return []
    return [tuple(row) for row in session.execute(statement.returning(*(core.c[n] for n in names)), rows)]


def _insert_json_rows(
    session: Session, core: Table, rows: list[dict[str, Any]], keys: list[str] | None, names: Sequence[str]
) -> list[tuple[Any, ...]]:
    """PostgreSQL: the whole batch as one JSON parameter, turned into rows by json_populate_recordset.

    A multi-row VALUES list has a placeholder per value, which the driver parses and escapes one by one;
    here the driver sends one string that json.dumps built in C, and the server types each column.
    """
    columns = ", ".join(rows[0])
    sql = (
        f"INSERT INTO {core.name} ({columns}) "
        f"SELECT {columns} FROM json_populate_recordset(NULL::{core.name}, CAST(:rows AS json))"
    )
    if keys:
        sql += f" ON CONFLICT ({', '.join(keys)}) DO NOTHING"
    if names:
        sql += f" RETURNING {', '.join(names)}"
    result = session.execute(text(sql), {"rows": json.dumps(rows, default=_json_value)})
    return [tuple(row) for row in result] if names else []


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):  # this path skips the column types: convert as UTCDateTime would
        return to_utc(value).isoformat()  # type: ignore[union-attr]
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _chunks(items: Sequence[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


COMMENT_COLUMNS = (
    CommentRow.id,
    CommentRow.source,
    CommentRow.external_id,
    CommentRow.text,
    CommentRow.author,
    CommentRow.post_external_id,
    CommentRow.parent_external_id,
    CommentRow.created_at,
    CommentRow.content_hash,
    CommentRow.author_id,
    CommentRow.author_email_hash,
    CommentRow.site_status,
    CommentRow.url,
)
"""What a StoredComment needs, selected as plain rows (no ORM objects to build on the scoring path)."""


def _stored(row: Any) -> StoredComment:
    comment = Comment(
        id=row.external_id,
        text=row.text,
        author=row.author,
        post_id=row.post_external_id,
        parent_id=row.parent_external_id,
        created_at=row.created_at,
        author_id=row.author_id,
        author_email_hash=row.author_email_hash,
        site_status=row.site_status,
        url=row.url,
    )
    return StoredComment(row.id, row.source, comment, row.content_hash)
