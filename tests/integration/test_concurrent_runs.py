"""Two runs of the moderate flow at once, on one PostgreSQL database and one source, process each comment once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from prefect.runtime import flow_run
from sqlalchemy import create_engine, func, select, text

from flows.moderate import moderate
from moderation.models import CommentScore
from moderation.pipeline import RunSummary
from moderation.scoring.base import register_text_scorer
from moderation.scoring.lexicon import LexiconScorer
from moderation.storage.engine import database
from moderation.storage.tables import CommentRow, ModerationActionRow, QueueItemRow, ScoreRow
from tests.conftest import write_config

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("prefect_harness")]

COMMENTS = 1200
WORDS = ["fine", "point", "agree", "source", "article", "idiot", "thanks", "moron", "read", "again"]


def _forum_table(url: str) -> None:
    engine = create_engine(url)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        {
            "id": n,
            "post": f"p{n % 20}",
            "author": f"user{n % 37}",
            "parent": n - 20 if n > 20 and n % 3 else None,
            "at": start + timedelta(seconds=n),
            "body": f"user{(n + 1) % 37}, " + " ".join(WORDS[(n * k) % len(WORDS)] for k in range(1, 9)),
        }
        for n in range(1, COMMENTS + 1)
    ]
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE forum (id integer PRIMARY KEY, post text, author text, parent integer, "
                "at timestamptz NOT NULL, body text)"
            )
        )
        connection.execute(text("INSERT INTO forum VALUES (:id, :post, :author, :parent, :at, :body)"), rows)
    engine.dispose()


def _count(url: str, *columns: object) -> int:
    with database(url).session() as session:
        return int(session.scalar(select(func.count(*columns))) or 0)


def test_two_runs_at_once_score_queue_and_audit_each_comment_once(tmp_path: Path, postgres_url: str) -> None:
    _forum_table(postgres_url)
    sources = f"""
[[sources]]
name = "forum"
kind = "sql"
url = "{postgres_url}"
table = "forum"
page_size = 100
[sources.columns]
post = "post"
parent = "parent"
time = "at"
text = "body"
"""
    register_text_scorer("slow", lambda settings, variant: SlowScorer())
    extra = '[scoring]\nscorer = "slow"\nbatch_size = 40\n[runner]\nn_workers = 2\n'
    config = str(write_config(tmp_path / "c.toml", postgres_url, extra, sources=sources))
    database(postgres_url)  # migrated before the race, which is about comments, not schema
    SlowScorer.reset()
    summaries: list[RunSummary] = []
    errors: list[BaseException] = []

    def run(wait_for_the_first: bool) -> None:
        # The second run starts once the first is scoring; the first run's scoring then waits (SlowScorer)
        # until the second run scores too, so the two overlap however fast or slow the machine is.
        if wait_for_the_first:
            assert SlowScorer.scoring.wait(timeout=120), "the first run never started scoring"
        try:
            summaries.append(moderate(config))
        except BaseException as exc:  # reported below, with the other run's outcome
            errors.append(exc)

    runs = [threading.Thread(target=run, args=(second,)) for second in (False, True)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=240)
    assert errors == [] and len(summaries) == 2

    assert _count(postgres_url, CommentRow.id) == COMMENTS
    assert _count(postgres_url, ScoreRow.id) == _count(postgres_url, ScoreRow.comment_id.distinct()) == COMMENTS
    assert _count(postgres_url, ModerationActionRow.id) == COMMENTS
    flagged = _count(postgres_url, QueueItemRow.id)
    assert flagged == _count(postgres_url, QueueItemRow.comment_id.distinct()) > 0
    a, b = summaries
    assert a.sources.get("forum", _Zero()).new + b.sources.get("forum", _Zero()).new == COMMENTS
    assert a.scored + b.scored == COMMENTS  # no comment was scored by both runs
    assert a.scored > 0 and b.scored > 0  # and the runs did overlap
    assert a.flagged + b.flagged == flagged


class _Zero:
    new = 0


class SlowScorer(LexiconScorer):
    """The lexicon scorer, held back until both runs are scoring: forces the overlap instead of hoping for it.

    Each flow run that scores a batch registers its run id; no batch finishes before two different runs
    have started one. Batches claimed by one run are locked (SKIP LOCKED) while they wait, so the other
    run's planner necessarily finds batches of its own to claim.
    """

    scoring = threading.Event()
    both_scoring = threading.Event()
    runs: ClassVar[set[str]] = set()
    lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        cls.scoring.clear()
        cls.both_scoring.clear()
        cls.runs.clear()

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        with self.lock:
            self.runs.add(str(flow_run.get_parent_flow_run_id() or flow_run.get_id()))
            if len(self.runs) >= 2:
                self.both_scoring.set()
        self.scoring.set()
        assert self.both_scoring.wait(timeout=180), "the second run never started scoring"
        return super().score_texts(texts)
