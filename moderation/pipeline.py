"""The pipeline's steps as plain functions; flows/moderate.py strings them together as Prefect tasks.

fetch since watermark -> store -> (per batch: load thread -> score -> decide -> enqueue) -> advance watermark
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from moderation.config import PolicySettings, ScoringSettings, SourceSettings
from moderation.models import CommentScore, Decision, InThread
from moderation.policy import decide
from moderation.scoring import load_scorer
from moderation.sources import Batch, open_source
from moderation.storage import store
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

    def add_ingest(self, source: str, counts: IngestCounts, batch: Batch) -> None:
        self.sources[source] = counts
        self.rejected.extend(f"{r.location}: {r.error}" for r in batch.rejected)

    def add_results(self, counts: ResultCounts, results: Sequence[Result]) -> None:
        self.scored += counts.scored
        self.flagged += len(counts.queued)
        self.flagged_items.extend(flagged_summary(r for r in results if r[0].row_id in counts.queued))


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


def enqueue(db_url: str, results: Sequence[Result], scoring: ScoringSettings, now: datetime) -> ResultCounts:
    scorer = load_scorer(scoring.scorer, scoring)
    return store.save_results(database(db_url), results, scorer.name, scorer.version, now)


def flagged_summary(results: Iterable[Result]) -> list[dict[str, Any]]:
    return [
        {
            "id": stored.comment.id,
            "author": stored.comment.author,
            "reasons": dict(decision.reasons),
            "attack_target": decision.attack_target,
            "text": stored.comment.text,
        }
        for stored, _, decision in results
        if decision.flagged
    ]
