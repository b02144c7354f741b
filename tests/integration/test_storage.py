from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, inspect, select

from moderation.config import PolicySettings, ScoringSettings
from moderation.models import Comment, InThread
from moderation.policy import decide
from moderation.scoring import load_scorer
from moderation.sources.base import Batch
from moderation.sources.files import JsonlFileSource
from moderation.storage import store
from moderation.storage.engine import open_database
from moderation.storage.tables import CommentRow, LoginAttemptRow, ModerationActionRow, QueueItemRow, ScoreRow
from tests.conftest import unscored_with_threads

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TABLES = {"posts", "comments", "scores", "review_queue", "moderation_actions", "rejected_inputs", "watermarks"}


def _seed_batch() -> Batch:
    return JsonlFileSource("examples", EXAMPLES / "seed_thread.jsonl", EXAMPLES / "seed_post.json").fetch(None)


def _count(db, table) -> int:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _score_all(db) -> store.ResultCounts:  # type: ignore[no-untyped-def]
    scorer = load_scorer("lexicon", ScoringSettings())
    pending, threads = unscored_with_threads(db, scorer.version)
    scores = scorer.score([InThread(p.comment, threads[p.row_id]) for p in pending])
    results = [(p, s, decide(p.comment, s, PolicySettings())) for p, s in zip(pending, scores, strict=True)]
    return store.save_results(db, results, scorer.name, scorer.version, NOW)


def test_first_use_creates_every_table_and_reopening_is_harmless(db_url: str) -> None:
    db = open_database(db_url)
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.dispose()
    again = open_database(db_url)
    assert set(inspect(again.engine).get_table_names()) >= TABLES
    again.dispose()


def test_ingesting_the_same_batch_twice_stores_each_comment_once(db_url: str) -> None:
    db = open_database(db_url)
    first = store.save_batch(db, _seed_batch(), NOW)
    second = store.save_batch(db, _seed_batch(), NOW)
    assert (first.new, second.new, second.unchanged) == (11, 0, 11)
    assert _count(db, CommentRow) == 11
    db.dispose()


def test_scoring_twice_adds_no_scores_queue_items_or_audit_rows(db_url: str) -> None:
    db = open_database(db_url)
    store.save_batch(db, _seed_batch(), NOW)
    first = _score_all(db)
    second = _score_all(db)
    assert (first.scored, second.scored) == (11, 0)
    assert (_count(db, ScoreRow), _count(db, ModerationActionRow)) == (11, 11)
    assert _count(db, QueueItemRow) == len(first.queued) >= 1
    db.dispose()


def test_saving_the_same_results_again_adds_nothing(db_url: str) -> None:
    """A concurrent run that scored the same comments must not double anything."""
    db = open_database(db_url)
    store.save_batch(db, _seed_batch(), NOW)
    scorer = load_scorer("lexicon", ScoringSettings())
    pending, threads = unscored_with_threads(db, scorer.version)
    scores = scorer.score([InThread(p.comment, threads[p.row_id]) for p in pending])
    results = [(p, s, decide(p.comment, s, PolicySettings())) for p, s in zip(pending, scores, strict=True)]
    store.save_results(db, results, scorer.name, scorer.version, NOW)
    again = store.save_results(db, results, scorer.name, scorer.version, NOW)
    assert (again.scored, again.queued) == (0, set())
    assert _count(db, ModerationActionRow) == 11
    db.dispose()


def test_an_edited_comment_is_rescored_without_losing_the_old_score(db_url: str) -> None:
    db = open_database(db_url)
    store.save_batch(db, Batch("s", comments=[Comment("1", "what a nice day", "ann")]), NOW)
    _score_all(db)
    counts = store.save_batch(db, Batch("s", comments=[Comment("1", "you idiot", "ann")]), NOW)
    assert counts.updated == 1
    assert _score_all(db).scored == 1
    assert _count(db, ScoreRow) == 2
    db.dispose()


def test_thread_context_holds_parent_post_and_every_author(db_url: str) -> None:
    db = open_database(db_url)
    store.save_batch(db, _seed_batch(), NOW)
    pending, threads = unscored_with_threads(db, "v")
    c7 = next(p for p in pending if p.comment.id == "c7")
    thread = threads[c7.row_id]
    assert thread.parent_of(c7.comment) is not None
    assert thread.post is not None and thread.post.title is not None and thread.post.author == "tim"
    assert {"Slaven", "Lee Lindberg", "Mike", "tim"} <= thread.participants()
    db.dispose()


def test_watermark_round_trips(db_url: str) -> None:
    db = open_database(db_url)
    assert store.get_watermark(db, "s") is None
    store.set_watermark(db, "s", {"offset": 10}, NOW)
    store.set_watermark(db, "s", {"offset": 20}, NOW)
    assert store.get_watermark(db, "s") == {"offset": 20}
    db.dispose()


def test_rejected_records_are_kept_once(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "1", "text": "ok"}\nnot json\n')
    db = open_database(db_url)
    batch = JsonlFileSource("s", path).fetch(None)
    store.save_batch(db, batch, NOW)
    store.save_batch(db, batch, NOW)
    from moderation.storage.tables import RejectedInputRow

    assert _count(db, RejectedInputRow) == 1
    db.dispose()


def test_stored_datetimes_come_back_utc_aware_whatever_zone_they_were_written_in(db_url: str) -> None:
    db = open_database(db_url)
    written = [
        datetime(2026, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),  # 12:00 UTC
        datetime(2026, 1, 1, 13, 0),  # naive: taken as UTC
    ]
    with db.session() as session:
        session.add_all(LoginAttemptRow(username="u", ip="i", succeeded=False, created_at=at) for at in written)
    with db.session() as session:
        read = list(session.scalars(select(LoginAttemptRow.created_at).order_by(LoginAttemptRow.created_at)))
        latest = session.scalar(select(func.max(LoginAttemptRow.created_at)))
        after_noon = session.scalar(
            select(func.count()).where(LoginAttemptRow.created_at > datetime(2026, 1, 1, 12, 30, tzinfo=UTC))
        )
    assert read == [datetime(2026, 1, 1, 12, 0, tzinfo=UTC), datetime(2026, 1, 1, 13, 0, tzinfo=UTC)]
    assert all(at.utcoffset() == timedelta(0) for at in read)
    assert latest == datetime(2026, 1, 1, 13, 0, tzinfo=UTC) and latest.tzinfo is not None
    assert after_noon == 1
