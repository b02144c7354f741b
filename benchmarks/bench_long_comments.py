"""Scoring time and peak memory for one long comment, by length and insult density (fast scorer).

Each case is a JSONL file holding one comment, scored through `score_file`, the function behind
`moderation score`, with the fast scorer and its thread layer (model loaded once, before timing). Time
is the median of --repeat runs; peak memory is the largest Python/numpy allocation seen by tracemalloc
in a separate run (so tracing does not slow the timed ones).

    python benchmarks/bench_long_comments.py [--repeat 3] [--max-length 5000000] [--markdown]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from moderation.score_file import score_file

LENGTHS = (1_000, 10_000, 65_000, 1_000_000, 5_000_000)
# Each pattern repeated to the length: no insult, one insulting word per ~230 characters, one every 16
# characters with a quoted phrase between each (the worst case for the old thread layer).
DENSITIES = {
    "none": "The council met on Tuesday to discuss the budget for next year. ",
    "sparse": "I read the whole report and I think the council got most of it wrong, as usual. "
    "Honestly, whoever wrote the summary is an idiot. Still, the budget numbers add up. ",
    "dense": 'you idiot "a b" ',
}


def comment_file(directory: Path, pattern: str, length: int) -> Path:
    text = (pattern * (length // len(pattern) + 1))[:length]
    path = directory / f"{len(pattern)}-{length}.jsonl"
    record = {"id": "long", "post_id": "p", "author": "Lee", "text": text}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return path


def score_once(path: Path) -> float:
    start = time.perf_counter()
    report = score_file(path, io.StringIO(), scorer_name="fast")
    elapsed = time.perf_counter() - start
    if report.scored != 1:
        raise SystemExit(f"{path}: expected one scored comment, got {report.scored}")
    return elapsed


def peak_megabytes(path: Path) -> float:
    tracemalloc.start()
    score_file(path, io.StringIO(), scorer_name="fast")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=LENGTHS[-1])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    options = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        score_once(comment_file(Path(tmp), "warm up", 10))  # loads the model
        for density, pattern in DENSITIES.items():
            for length in (n for n in LENGTHS if n <= options.max_length):
                path = comment_file(Path(tmp), pattern, length)
                seconds = statistics.median(score_once(path) for _ in range(options.repeat))
                rows.append((density, length, seconds, peak_megabytes(path)))
    if options.markdown:
        print("| insult density | characters | seconds (median) | µs per 1,000 characters | peak MB |")
        print("|---|---:|---:|---:|---:|")
    for density, length, seconds, peak in rows:
        per_kchar = seconds / length * 1e9
        if options.markdown:
            print(f"| {density} | {length:,} | {seconds:.4f} | {per_kchar:,.1f} | {peak:.1f} |")
        else:
            print(f"{density:<7} {length:>10,} chars  {seconds:8.4f} s  {per_kchar:9.1f} µs/kchar  {peak:7.1f} MB peak")


if __name__ == "__main__":
    main()
