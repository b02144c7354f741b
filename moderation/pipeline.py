"""The pipeline's steps as plain functions; flows/moderate.py strings them together as Prefect tasks.

fetch since watermark -> store -> (per batch: load thread -> score -> decide -> enqueue + alerts)
-> backlog check -> deliver alerts -> advance watermark
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from moderation.alerts.channels import build_channels
from moderation.alerts.outbox import DeliveryReport, deliver_due
from moderation.alerts.triggers import backlog_alert, queue_alert_rule
from moderation.config import AlertsSettings, PolicySettings, ScoringSettings, SourceSettings
from moderation.models import CommentScore, Decision, InThread
from moderation.policy import decide
from moderation.scoring import load_scorer
from moderation.sources import Batch, open_source
from moderation.storage import outbox, store
from moderation.storage.engine import Database, open_database
from moderation.storage.store import IngestCounts, ResultCounts, StoredComment

Result = tuple[StoredComment, CommentScore, Decision]


@dataclass
class RunSummary:
    sources: dict[str, IngestCounts] = field(default_factory=dict)
    scored: int = 0
    flagged: int = 0
    rejected: list[str] = field(default_factory=list)
    flagged_items: list[dict[str, Any]] = field(default_factory=list)
    by_label: Counter[str] = field(default_factory=Counter)
    """Flagged comments per label that flagged them (a comment counts once under each of its labels)."""
    alerts_written: int = 0
    """Alert-outbox rows this run wrote (one per alert per channel)."""
    alerts: DeliveryReport = field(default_factory=DeliveryReport)

    def add_ingest(self, source: str, counts: IngestCounts, batch: Batch) -> None:
        self.sources[source] = counts
        self.rejected.extend(f"{r.location}: {r.error}" for r in batch.rejected)

    def add_results(self, counts: ResultCounts, results: Sequence[Result]) -> None:
        self.scored += counts.scored
        self.flagged += len(counts.queued)
        self.alerts_written += counts.alerts
        items = flagged_summary((r for r in results if r[0].row_id in counts.queued), counts.queue_items)
        self.flagged_items.extend(items)
        self.by_label.update(label for item in items for label in item["reasons"])


@lru_cache(maxsize=8)
def database(url: str) -> Database:
    """One migrated database handle per URL per process."""
    return open_database(url)


def fetch_new(db_url: str, source: SourceSettings) -> Batch:
    watermark = store.get_watermark(database(db_url), source.name)
    return open_source(source).fetch(watermark)


def store_batch(db_url: str, batch: Batch, now: datetime) -> IngestCounts:
    return store.save_batch(database(db_url), batch, now)


def advance_watermark(db_url: str, batch: Batch, now: datetime) -> None:
    store.set_watermark(database(db_url), batch.source, batch.watermark, now)


def next_unscored(db_url: str, scoring: ScoringSettings, after_row_id: int) -> list[StoredComment]:
    scorer = load_scorer(scoring.scorer, scoring)
    return store.next_unscored(database(db_url), scorer.version, after_row_id, scoring.batch_size)


def score_and_decide(
    db_url: str, batch: Sequence[StoredComment], scoring: ScoringSettings, policy: PolicySettings
) -> list[Result]:
    threads = store.load_threads(database(db_url), batch)
    scorer = load_scorer(scoring.scorer, scoring)
    scores = scorer.score([InThread(item.comment, threads[item.row_id]) for item in batch])
    return [(item, score, decide(item.comment, score, policy)) for item, score in zip(batch, scores, strict=True)]


def enqueue(
    db_url: str,
    results: Sequence[Result],
    scoring: ScoringSettings,
    now: datetime,
    alerts: AlertsSettings | None = None,
) -> ResultCounts:
    """Save scores, queue flagged comments, and write the alerts they cause, in one transaction."""
    scorer = load_scorer(scoring.scorer, scoring)
    rule = queue_alert_rule(alerts) if alerts is not None else None
    return store.save_results(database(db_url), results, scorer.name, scorer.version, now, alert_rule=rule)


def check_backlog(db_url: str, alerts: AlertsSettings, now: datetime) -> int:
    """Write a backlog alert when the review queue is too long or too old; returns outbox rows written."""
    if not alerts.channels_for("backlog"):
        return 0
    db = database(db_url)
    pending, oldest = outbox.pending_backlog(db)
    draft = backlog_alert(pending, oldest, alerts, now)
    return outbox.record_alerts(db, [draft], now) if draft else 0


def deliver_alerts(
    db_url: str,
    alerts: AlertsSettings,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> DeliveryReport:
    """Send the alerts that are due. With no channel configured nothing is sent and nothing is lost."""
    if not alerts.channels:
        return DeliveryReport()
    channels = build_channels(alerts, os.environ if environ is None else environ)
    when = now or datetime.now(UTC)
    return deliver_due(database(db_url), channels, alerts.base_url, alerts.delivery, when)


def flagged_summary(results: Iterable[Result], queue_items: Mapping[int, int] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "id": stored.comment.id,
            "source": stored.source,
            "post_id": stored.comment.post_id,
            "item_id": (queue_items or {}).get(stored.row_id),
            "author": stored.comment.author,
            "reasons": dict(decision.reasons),
            "attack_target": decision.attack_target,
            "text": stored.comment.text,
        }
        for stored, _, decision in results
        if decision.flagged
    ]
