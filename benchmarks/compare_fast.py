"""Check that a change to the fast tier's code left its results as they were: runs `moderation score
--scorer fast` from a git revision (--against: the code before the change) and from this working tree on
the same file of dev comments in threads (as bench_fast.py writes it), and compares every output record
(scores, flags, reasons, attack on a commenter and its target, evidence); then compares both versions'
unrounded probabilities (FastScorer.probabilities) on the same texts.

    python benchmarks/compare_fast.py --against 1015b62 [--data ../shared/data] [--comments 20000]

Exits 1 when a record differs or a probability differs by more than --tolerance.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fast import checkout, write_threads

from moderation.training.data import dev_texts

ROOT = Path(__file__).resolve().parents[1]
PROBABILITIES = (
    "import json, sys, numpy as np; from moderation.scoring.fast import FastScorer; "
    "texts = [json.loads(line)['text'] for line in open(sys.argv[1], encoding='utf-8')]; "
    "np.save(sys.argv[2], FastScorer().probabilities(texts))"
)


def run_version(tree: Path, source: Path, out: Path) -> None:
    env = {"PYTHONPATH": str(tree), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    score = [sys.executable, "-m", "moderation.cli", "score", "--scorer", "fast", "--input", str(source)]
    subprocess.run([*score, "--output", str(out / "scored.jsonl")], cwd=tree, env=env, check=True)
    probabilities = [sys.executable, "-c", PROBABILITIES, str(source), str(out / "p.npy")]
    subprocess.run(probabilities, cwd=tree, env=env, check=True)


def compare_records(before: Path, after: Path) -> tuple[int, int, float]:
    """(records, records that differ in anything but the scorer's version, largest score difference)."""
    old = [json.loads(line) for line in before.open(encoding="utf-8")]
    new = [json.loads(line) for line in after.open(encoding="utf-8")]
    if len(old) != len(new):
        return max(len(old), len(new)), abs(len(old) - len(new)), float("inf")
    differing, largest = 0, 0.0
    for a, b in zip(old, new, strict=True):
        a.pop("scorer"), b.pop("scorer")
        largest = max([largest, *(abs(a["scores"][k] - b["scores"].get(k, float("inf"))) for k in a["scores"])])
        differing += a != b
    return len(old), differing, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="git revision with the code before the change")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--comments", type=int, default=20000)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "comments.jsonl"
        write_threads(dev_texts(options.data), options.comments, source)
        (work / "before").mkdir()
        (work / "after").mkdir()
        checkout(options.against, work / "old")
        run_version(work / "old", source, work / "before")
        run_version(ROOT, source, work / "after")
        records, differing, largest = compare_records(work / "before" / "scored.jsonl", work / "after" / "scored.jsonl")
        p_old, p_new = np.load(work / "before" / "p.npy"), np.load(work / "after" / "p.npy")
    p_diff = float(np.abs(p_old - p_new).max()) if p_old.shape == p_new.shape else float("inf")
    print(f"output records   {records} compared, {differing} differ; largest score difference {largest:.2g}")
    print(f"probabilities    {p_new.size} compared ({p_new.shape[1]} outputs), largest difference {p_diff:.2g}")
    if differing or p_diff > options.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
