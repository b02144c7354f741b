"""What isolating bad records costs: a page of comments stored with 0, 1 or 10 records the database
refuses (bisected until each is alone), and a scoring batch with 0, 1 or 10 comments the scorer raises on.

    python benchmarks/bench_isolation.py [--db sqlite:///bench.db | postgresql+psycopg://...] [--page 1000]

The database must be new or hold nothing from a source called "bench-*" (each measurement is a new source).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from moderation.config import ScoringSettings
from moderation.models import Comment, CommentScore, InThread, Thread
from moderation.scoring import load_scorer
from moderation.scoring.isolation import ScoringFailed, score_isolated
from moderation.sources.base import Batch
from moderation.storage import store
from moderation.storage.engine import open_database

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def page(size: int, bad: int, source: str) -> Batch:
    """`size` comments, `bad` of them spread evenly with a lone surrogate (refused by every database)."""
    every = size // bad if bad else size + 1
    comments = [
        Comment(id=f"c{i}", text=f"comment {i}" + ("\ud83d" if bad and i % every == every // 2 else ""), author="a")
        for i in range(size)
    ]
    return Batch(source=source, comments=comments, locations={c.id: f"item {i}" for i, c in enumerate(comments)})


class RaisesOn:
    """A scorer wrapper that raises on any batch holding a marked text, counting its calls."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name, self.version, self.labels = inner.name, inner.version, inner.labels  # type: ignore[attr-defined]
        self.calls = 0

    def score(self, batch: Sequence[InThread]) -> list[CommentScore]:
        self.calls += 1
        if any("BOOM" in item.comment.text for item in batch):
            raise RuntimeError("boom")
        return self.inner.score(batch)  # type: ignore[attr-defined,no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:///bench-isolation.db")
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    db = open_database(args.db)
    run = int(time.time())
    print(f"storage, page of {args.page} on {db.engine.dialect.name}:")
    for bad in (0, 1, 10):
        started = time.perf_counter()
        counts = store.save_batch(db, page(args.page, bad, f"bench-{run}-{bad}"), NOW)
        seconds = time.perf_counter() - started
        print(f"  {bad:>2} bad: {seconds * 1000:8.1f} ms  ({counts.new} stored, {counts.rejected} rejected)")
    scorer = load_scorer("lexicon", ScoringSettings(scorer="lexicon"))
    print(f"scoring, batch of {args.page} with the lexicon scorer:")
    for bad in (0, 1, 10):
        texts = [f"comment {i}" for i in range(args.page)]
        for i in range(bad):
            texts[(i * args.page) // bad] = "BOOM"
        batch = [InThread(Comment(id=str(i), text=t, author="a"), Thread()) for i, t in enumerate(texts)]
        wrapped = RaisesOn(scorer)
        started = time.perf_counter()
        results = score_isolated(wrapped, batch)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        failed = sum(isinstance(r, ScoringFailed) for r in results)
        print(f"  {bad:>2} bad: {seconds * 1000:8.1f} ms  ({wrapped.calls} scorer calls, {failed} failed)")


if __name__ == "__main__":
    main()
