"""Retention: old comment text is blanked; hashes, scores, queue items and the audit log stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select, update

from moderation.cli import cli
from moderation.config import PolicySettings, ScoringSettings
from moderation.models import Comment, InThread, RejectedRecord
from moderation.policy import decide
from moderation.scoring import load_scorer
from moderation.sources.base import Batch
from moderation.storage import store
from moderation.storage.engine import Database, open_database
from moderation.storage.tables import CommentRow, ModerationActionRow, QueueItemRow, RejectedInputRow, ScoreRow
from tests.conftest import unscored_with_threads, write_config

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _seed(db: Database, now: datetime = NOW) -> None:
    old = now - timedelta(days=200)
    comments = [
        Comment("old-nice", "what a lovely day", "ann", created_at=old),
        Comment("old-decided", "you idiot", "bob", created_at=old),
        Comment("old-pending", "you moron", "cy", created_at=old),
        Comment("new", "you clown", "di", created_at=now - timedelta(days=3)),
    ]
    rejected = [RejectedRecord("s", "f.jsonl:9", "text: text is empty", '{"id": "x", "text": "  "}')]
    store.save_batch(db, Batch("s", comments=comments, rejected=rejected), old)
    scorer = load_scorer("lexicon", ScoringSettings())
    pending, threads = unscored_with_threads(db, scorer.version)
    scores = scorer.score([InThread(p.comment, threads[p.row_id]) for p in pending])
    results = [(p, s, decide(p.comment, s, PolicySettings())) for p, s in zip(pending, scores, strict=True)]
    store.save_results(db, results, scorer.name, scorer.version, old)
    with db.session() as session:  # a moderator decided on one of the old flagged comments
        decided = select(CommentRow.id).where(CommentRow.external_id == "old-decided").scalar_subquery()
        session.execute(update(QueueItemRow).where(QueueItemRow.comment_id == decided).values(status="approved"))


def _rows(db: Database) -> dict[str, tuple[str, str, datetime | None]]:
    with db.session() as session:
        return {r.external_id: (r.text, r.content_hash, r.text_purged_at) for r in session.scalars(select(CommentRow))}


def _count(db: Database, table: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_purge_blanks_old_text_and_keeps_hashes_scores_queue_and_audit(db_url: str) -> None:
    db = open_database(db_url)
    _seed(db)
    before = _rows(db)
    kept = {table: _count(db, table) for table in (ScoreRow, QueueItemRow, ModerationActionRow)}
    counts = store.purge_text(db, NOW - timedelta(days=90), NOW)
    assert (counts.comments, counts.kept_for_review, counts.rejected_inputs) == (2, 1, 1)
    after = _rows(db)
    text, content_hash, purged_at = after["old-nice"]
    assert (text, content_hash) == ("", before["old-nice"][1])
    assert purged_at is not None and purged_at.replace(tzinfo=UTC) == NOW  # SQLite gives it back naive
    assert after["old-decided"][0] == ""
    assert after["old-pending"][0] == "you moron"  # a moderator has yet to see it
    assert after["new"][0] == "you clown"
    assert {table: _count(db, table) for table in kept} == kept
    with db.session() as session:
        assert session.scalar(select(RejectedInputRow.raw)) == ""
    db.dispose()


def test_a_purged_comment_read_again_unchanged_is_not_restored_or_rescored(db_url: str) -> None:
    db = open_database(db_url)
    _seed(db)
    store.purge_text(db, NOW - timedelta(days=90), NOW)
    counts = store.save_batch(db, Batch("s", comments=[Comment("old-nice", "what a lovely day", "ann")]), NOW)
    assert (counts.unchanged, counts.updated) == (1, 0)
    assert _rows(db)["old-nice"][0] == ""
    assert store.unscored_ranges(db, load_scorer("lexicon", ScoringSettings()).version, 100) == []
    db.dispose()


def test_purge_command_reports_what_it_did(tmp_path: Path, sqlite_url: str) -> None:
    _seed(open_database(sqlite_url), datetime.now(UTC))
    config = write_config(tmp_path / "c.toml", sqlite_url)
    result = CliRunner().invoke(cli, ["purge", "--config", str(config), "--older-than", "90d"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("purged the text of 2 comments and 1 rejected inputs older than ")
    assert "kept 1 old comments still waiting for a moderator" in result.output


def test_purge_without_a_unit_is_a_clear_error(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "c.toml", sqlite_url)
    result = CliRunner().invoke(cli, ["purge", "--config", str(config), "--older-than", "90"])
    assert result.exit_code == 2
    assert "use a number and a unit, e.g. 90d (days), 12w (weeks) or 36h (hours); got '90'" in result.output
