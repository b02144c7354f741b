"""Benchmark `moderation score --scorer fast` as a whole process: comments/s, model load time, peak RSS,
side by side with alt-profanity-check (`profanity_check`, a linear scikit-learn model: the offline peer).

Input: the dev files' texts (realistic comments: Wikipedia talk, news comments, tweets), arranged in
threads of 20 comments with a few authors and replies, as a JSONL file. Each run is a fresh process
(interpreter start-up and model load included); the two commands alternate, --repeat times each, and
the figures are medians. The peer reads the same file and writes one JSON line per comment, as
`moderation score` does.

    python benchmarks/bench_fast.py [--data ../shared/data] [--comments 20000] [--repeat 3] [--against REV]

--against REV also runs `moderation score` from git revision REV (its package and config, checked out
in a temporary folder) in the same alternation: before and after a change, side by side.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from moderation.training.data import dev_texts

ROOT = Path(__file__).resolve().parents[1]
AUTHORS = ("Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana")
LOAD = (
    "import time; t = time.perf_counter(); from moderation.scoring.fast import FastScorer; s = FastScorer(); "
    "print(time.perf_counter() - t, s.version)"
)


PEER = (
    "import json, sys; from profanity_check import predict_prob; "
    "texts = [json.loads(line)['text'] for line in open(sys.argv[1], encoding='utf-8')]; "
    "out = open(sys.argv[2], 'w', encoding='utf-8'); "
    "out.writelines(json.dumps({'profanity': float(p)}) + '\\n' for p in predict_prob(texts))"
)


def write_threads(texts: list[str], count: int, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            thread, position = divmod(i, 20)
            record = {
                "id": f"b{i}",
                "post_id": f"post-{thread}",
                "author": AUTHORS[(i * 3) % len(AUTHORS)],
                "parent_id": f"b{i - 1}" if position and position % 3 else None,
                "text": texts[i % len(texts)],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def run_child(args: list[str], root: Path = ROOT) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak RSS (MB) of the child (run with `root`'s code), and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=root, capture_output=True, text=True, check=True, env=_env(root))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children is the largest of any child so far: the first child run is the scoring job.
    return wall, cpu, after.ru_maxrss / 1024, done.stdout


def _env(root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def checkout(revision: str, into: Path) -> None:
    """The package and config of git `revision`, as files under `into`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "moderation", "config"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def _seconds(runs: list[tuple[float, float, float, str]]) -> str:
    return ", ".join(f"{wall:.2f}/{cpu:.2f}" for wall, cpu, *_ in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--comments", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--against", metavar="REV", help="also run `moderation score` from this git revision (e.g. before a change)"
    )
    options = parser.parse_args()

    texts = dev_texts(options.data)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "comments.jsonl"
        write_threads(texts, options.comments, source)
        chars = sum(len(texts[i % len(texts)]) for i in range(options.comments))
        score = [sys.executable, "-m", "moderation.cli", "score", "--scorer", "fast", "--input", str(source)]
        score += ["--output", str(Path(tmp) / "out.jsonl")]
        peer = [sys.executable, "-c", PEER, str(source), str(Path(tmp) / "peer.jsonl")]
        old_root = Path(tmp) / "old"
        if options.against:
            checkout(options.against, old_root)
        runs, peer_runs, old_runs = [], [], []
        for _ in range(options.repeat):  # alternated, so load on the machine hits all alike
            runs.append(run_child(score))
            peer_runs.append(run_child(peer))
            if options.against:
                old_runs.append(run_child(score, old_root))
        loads = [run_child([sys.executable, "-c", LOAD]) for _ in range(options.repeat)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    peer_wall = statistics.median(r[0] for r in peer_runs)
    peer_cpu = statistics.median(r[1] for r in peer_runs)
    peak = runs[0][2]
    load_seconds = min(float(out.split()[0]) for *_, out in loads)
    version = loads[0][3].split()[1]
    print(f"model            {version}")
    print(f"input            {options.comments} comments, {chars / options.comments:.0f} characters on average")
    print(
        f"whole process    {wall:.2f} s wall (median of {options.repeat}) -> {options.comments / wall:,.0f} comments/s"
    )
    print(f"                 {cpu:.2f} s CPU -> {options.comments / cpu:,.0f} comments per CPU-second")
    print(f"profanity_check  {peer_wall:.2f} s wall, {peer_cpu:.2f} s CPU (median of {options.repeat}, same file)")
    print(f"fast vs peer     {peer_wall / wall:.2f}x as fast (wall), {peer_cpu / cpu:.2f}x (CPU)")
    if old_runs:
        old_wall = statistics.median(r[0] for r in old_runs)
        old_cpu = statistics.median(r[1] for r in old_runs)
        print(f"{options.against[:15]:<16} {old_wall:.2f} s wall, {old_cpu:.2f} s CPU (median of {options.repeat})")
        print(f"fast vs {options.against[:8]:<8} {old_wall / wall:.2f}x as fast (wall), {old_cpu / cpu:.2f}x (CPU)")
    print(f"runs (wall/CPU)  fast {_seconds(runs)}; peer {_seconds(peer_runs)}")
    if old_runs:
        print(f"                 {options.against[:8]} {_seconds(old_runs)}")
    print(f"model load       {load_seconds:.3f} s (import + load, best of {options.repeat})")
    print(f"peak RSS         {peak:.0f} MB")
    print(f"load average     {os.getloadavg()[0]:.2f} (other work on the machine slows the wall-clock figure)")


if __name__ == "__main__":
    main()
