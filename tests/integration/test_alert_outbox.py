"""The alert outbox on SQLite and PostgreSQL: written with the queue rows, claimed by one deliverer."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from moderation.alerts.triggers import queue_alert_rule
from moderation.config import AlertsSettings, PolicySettings, ScoringSettings
from moderation.errors import OutboxError
from moderation.models import AlertDraft, FlaggedItem, InThread
from moderation.policy import decide
from moderation.scoring import load_scorer
from moderation.sources.files import JsonlFileSource
from moderation.storage import outbox, store
from moderation.storage.engine import Database, open_database
from moderation.storage.tables import AlertOutboxRow, QueueItemRow, ScoreRow
from tests.conftest import unscored_with_threads

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def alert_settings(**extra: object) -> AlertsSettings:
    """Two channels; pile-on over two days so the seed thread's two flagged comments make one."""
    data = {
        "channels": [
            {"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"},
            {"name": "chat", "kind": "slack", "url_env": "SLACK_URL", "alert_kinds": ["pile_on"]},
        ],
        "pile_on": {"flagged": 2, "attacks": 0, "window_minutes": 2 * 24 * 60},
        **extra,
    }
    return AlertsSettings.model_validate(data)


def _results(db: Database) -> list[tuple[store.StoredComment, object, object]]:
    store.save_batch(
        db, JsonlFileSource("examples", EXAMPLES / "seed_thread.jsonl", EXAMPLES / "seed_post.json").fetch(None), NOW
    )
    scorer = load_scorer("lexicon", ScoringSettings())
    pending, threads = unscored_with_threads(db, scorer.version)
    scores = scorer.score([InThread(p.comment, threads[p.row_id]) for p in pending])
    return [(p, s, decide(p.comment, s, PolicySettings())) for p, s in zip(pending, scores, strict=True)]


def _save(db: Database, results: Sequence, rule: object) -> store.ResultCounts:  # type: ignore[type-arg]
    return store.save_results(db, results, "lexicon", "lexicon-1+thread1", NOW, alert_rule=rule)  # type: ignore[arg-type]


def _count(db: Database, table: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_the_seed_thread_writes_a_severe_and_a_pile_on_alert_with_its_queue_rows(db_url: str) -> None:
    db = open_database(db_url)
    counts = _save(db, _results(db), queue_alert_rule(alert_settings()))
    entries = outbox.list_alerts(db)
    assert counts.alerts == len(entries) == 3  # severe -> hook; pile_on -> hook and chat
    assert sorted((e.kind, e.channel) for e in entries) == [
        ("pile_on", "chat"),
        ("pile_on", "hook"),
        ("severe", "hook"),
    ]
    severe = next(e for e in entries if e.kind == "severe")
    assert severe.payload["comments"][0]["comment_id"] == "c6"  # the attack on Slaven, 0.90
    assert severe.payload["post_title"].startswith("Russian Pilot Escaped")
    pile_on = next(e for e in entries if e.kind == "pile_on")
    assert (pile_on.payload["flagged"], pile_on.post_id) == (2, "post-belenko")
    assert {e.status for e in entries} == {"pending"}
    db.dispose()


def test_alerts_and_queue_rows_commit_together_or_not_at_all(db_url: str) -> None:
    db = open_database(db_url)

    def broken_rule(new: Sequence[FlaggedItem], thread: Sequence[FlaggedItem]) -> list[AlertDraft]:
        raise RuntimeError("crash after the queue rows were inserted")

    with pytest.raises(RuntimeError, match="crash after"):
        _save(db, _results(db), broken_rule)
    assert (_count(db, ScoreRow), _count(db, QueueItemRow), _count(db, AlertOutboxRow)) == (0, 0, 0)
    db.dispose()


def test_saving_the_same_results_again_writes_no_second_alert(db_url: str) -> None:
    db = open_database(db_url)
    results = _results(db)
    rule = queue_alert_rule(alert_settings())
    first = _save(db, results, rule)
    again = _save(db, results, rule)
    assert (first.alerts, again.alerts) == (3, 0)
    assert _count(db, AlertOutboxRow) == 3
    db.dispose()


def test_no_channels_means_no_rule_and_no_alert_rows(db_url: str) -> None:
    db = open_database(db_url)
    rule = queue_alert_rule(AlertsSettings())
    assert rule is None
    counts = _save(db, _results(db), rule)
    assert counts.queued and _count(db, AlertOutboxRow) == 0
    db.dispose()


def _drafts(n: int) -> list[AlertDraft]:
    return [AlertDraft("severe", f"severe:s/p{i}:w", NOW, ("hook",), {"comments": []}) for i in range(n)]


def test_one_alert_per_key_and_channel_ever(db_url: str) -> None:
    db = open_database(db_url)
    assert outbox.record_alerts(db, _drafts(3), NOW) == 3
    assert outbox.record_alerts(db, _drafts(4), NOW + timedelta(hours=1)) == 1
    db.dispose()


def test_racing_deliverers_each_claim_different_alerts(db_url: str) -> None:
    db = open_database(db_url)
    outbox.record_alerts(db, _drafts(40), NOW)
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def deliverer(token: str) -> None:
        start.wait()
        for _ in range(5):
            entries = outbox.claim_due(db, NOW, token=token, limit=4, stale_before=NOW - timedelta(minutes=10))
            claimed.setdefault(token, []).extend(e.id for e in entries)
            for entry in entries:
                outbox.mark_delivered(db, entry.id, token, NOW)

    threads = [threading.Thread(target=deliverer, args=(f"deliverer-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = [alert_id for ids in claimed.values() for alert_id in ids]
    assert len(every) == len(set(every)) == 40
    assert {e.status for e in outbox.list_alerts(db)} == {"delivered"}
    db.dispose()


def test_a_claim_left_by_a_crashed_deliverer_is_taken_over_after_the_timeout(db_url: str) -> None:
    db = open_database(db_url)
    outbox.record_alerts(db, _drafts(1), NOW)
    stale = timedelta(minutes=10)
    (entry,) = outbox.claim_due(db, NOW, token="crashed", limit=10, stale_before=NOW - stale)
    assert outbox.claim_due(db, NOW + timedelta(minutes=5), token="next", limit=10, stale_before=NOW - stale) == []
    later = NOW + timedelta(minutes=11)
    (again,) = outbox.claim_due(db, later, token="next", limit=10, stale_before=later - stale)
    assert again.id == entry.id
    assert not outbox.mark_delivered(db, entry.id, "crashed", later)  # the old claim is gone
    assert outbox.mark_delivered(db, entry.id, "next", later)
    db.dispose()


def test_only_failed_alerts_can_be_retried(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, _drafts(2), NOW)
    first, second = outbox.claim_due(db, NOW, token="t", limit=10, stale_before=NOW)
    outbox.mark_failed(db, first.id, "t", "hook: HTTP 404 Not Found")
    outbox.mark_delivered(db, second.id, "t", NOW)
    assert [e.id for e in outbox.list_alerts(db, "failed")] == [first.id]
    retried = outbox.retry_failed(db, first.id, NOW + timedelta(hours=1))
    assert (retried.status, retried.last_error) == ("pending", "hook: HTTP 404 Not Found")
    with pytest.raises(OutboxError, match=f"alert {second.id} is delivered; only failed alerts can be retried"):
        outbox.retry_failed(db, second.id, NOW)
    with pytest.raises(OutboxError, match="no alert 999"):
        outbox.retry_failed(db, 999, NOW)
    db.dispose()


def test_pending_backlog_counts_pending_items_and_the_oldest(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    assert outbox.pending_backlog(db) == (0, None)
    _save(db, _results(db), None)
    count, oldest = outbox.pending_backlog(db)
    assert (count, oldest) == (_count(db, QueueItemRow), NOW)
    db.dispose()
