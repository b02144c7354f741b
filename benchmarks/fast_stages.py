"""Where `moderation score --scorer fast`'s time goes: the same stages it runs, timed one after another in one
process on the same file of dev comments in threads that bench_fast.py writes.

    python benchmarks/fast_stages.py [--data ../shared/data] [--comments 8852]

Stages: imports, config, model load, reading and validating the file, normalising, features and the
linear model, evidence, the thread layer, the policy, writing the output records. The sum is close to the
whole process's time less interpreter start-up; run it on a quiet machine, twice, and compare.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


class Stages(dict[str, float]):
    """Stage name -> seconds, in the order they ran."""

    def timed(self, name: str, stage: Callable[[], T]) -> T:
        start = time.perf_counter()
        result = stage()
        self[name] = time.perf_counter() - start
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--comments", type=int, default=8852)
    options = parser.parse_args()

    stages = Stages()
    started = time.perf_counter()
    from moderation.config import load_settings
    from moderation.models import InThread
    from moderation.policy import decide
    from moderation.score_file import FILE_SOURCE, in_threads, output_record
    from moderation.scoring.attack import add_attack
    from moderation.scoring.fast import BATCH, FastScorer
    from moderation.scoring.normalise import normalise
    from moderation.sources.files import JsonlFileSource

    stages["imports"] = time.perf_counter() - started

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_fast import write_threads

    from moderation.training.data import dev_texts

    settings = stages.timed("config", lambda: load_settings(None))
    fast = stages.timed("model load", FastScorer)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "comments.jsonl"
        write_threads(dev_texts(options.data), options.comments, path)

        def read() -> list[InThread]:
            batch = JsonlFileSource(FILE_SOURCE, path).fetch(None)
            return list(in_threads(batch.comments, batch.posts))

        items = stages.timed("read + validate", read)
    texts = [item.comment.text for item in items]
    batches = [texts[start : start + BATCH] for start in range(0, len(texts), BATCH)]
    normalised = stages.timed("normalise", lambda: [[normalise(text) for text in batch] for batch in batches])
    stages.timed("features + linear model", lambda: [fast.logits(batch) for batch in normalised])
    # Scoring is the three stages together: what it takes beyond the first two is the evidence.
    scored = Stages()
    scores = scored.timed("scoring", lambda: [score for batch in batches for score in fast._score_batch(batch)])
    stages["evidence"] = max(0.0, scored["scoring"] - stages["normalise"] - stages["features + linear model"])
    pairs = list(zip(items, scores, strict=True))

    def thread_layer() -> None:
        for item, score in pairs:
            add_attack(item.comment, item.thread, score)

    stages.timed("thread layer", thread_layer)
    decisions = stages.timed(
        "policy", lambda: [decide(i.comment, s, settings.policy, FILE_SOURCE, None, 0) for i, s in pairs]
    )
    stages.timed(
        "write",
        lambda: [
            json.dumps(output_record(i.comment, s, d, "fast"), ensure_ascii=False)
            for (i, s), d in zip(pairs, decisions, strict=True)
        ],
    )
    total = sum(stages.values())
    print(f"{options.comments} comments, {sum(map(len, texts)) / len(texts):.0f} characters on average")
    for name, seconds in stages.items():
        print(f"{name:<24} {seconds:6.3f} s  {seconds / total:4.0%}")
    print(f"{'total':<24} {total:6.3f} s")


if __name__ == "__main__":
    main()
