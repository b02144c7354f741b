"""Whole-process throughput of `moderation score --scorer NAME` on natural traffic: fast, cascade, accurate.

Every run is a fresh process; the scorers' runs are interleaved (fast, cascade, accurate, fast, ...) and the
median of --repeat runs is kept, so interpreter start-up, config, model loads (the accurate tier's only if
some comment falls in the band) and writing the output all count, and a busy spell on a shared machine
hits every scorer alike. Comments: the natural-prevalence dev files (not the balanced jigsaw_toxic_6label),
every k-th to mix them, in threads of 20 with replies, as a JSONL file; every scorer gets the same file.
The cascade's escalated count is computed from the screen's scores and the configured bands.
A scorer may name the accurate tier's runtime (scoring.accurate.runtime), to set them side by side in one
run: `--scorers fast,cascade@onnx,cascade@torch,accurate@onnx,accurate@torch`; without one, the config's.
`+no-recheck` runs a cascade without its recheck (scoring.cascade.recheck_bands emptied), to measure what the
recheck costs: `--scorers cascade@onnx,cascade@onnx+no-recheck`.

    python benchmarks/bench_cascade.py [--comments 5000] [--families a,b] [--threads N] [--repeat 3] [--config FILE]
        [--scorers ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from moderation.training.cascade_bands import NATURAL_FAMILIES
from moderation.training.data import dev_texts

ROOT = Path(__file__).resolve().parents[1]
AUTHORS = ("Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana")


def write_threads(texts: list[str], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i, text in enumerate(texts):
            thread, position = divmod(i, 20)
            record = {
                "id": f"b{i}",
                "post_id": f"post-{thread}",
                "author": AUTHORS[(i * 3) % len(AUTHORS)],
                "parent_id": f"b{i - 1}" if position and position % 3 else None,
                "text": text,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def escalated(texts: list[str], config: Path) -> int:
    """Comments the configured cascade escalates: its screen's scores, refitted, in a band (the accurate tier is
    not run)."""
    from moderation.config import load_settings
    from moderation.scoring.base import load_scorer

    cascade = load_scorer("cascade", load_settings(config).scoring).text_scorer  # type: ignore[attr-defined]
    return sum(cascade.in_band(score) for score in cascade.screen_scores(texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--comments", type=int, default=5000, help="natural dev comments to score (0: all)")
    parser.add_argument(
        "--families",
        default=",".join(NATURAL_FAMILIES),
        help="comma-separated dev files to draw the comments from (default: the natural-prevalence ones)",
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "moderation.toml", help="config (bands)")
    parser.add_argument("--threads", type=int, default=None, help="scoring.accurate.threads for the runs")
    parser.add_argument(
        "--scorers",
        default="fast,cascade,accurate",
        help="comma-separated scorers to run, each optionally @RUNTIME of the accurate tier (onnx, torch), a cascade "
        "optionally +no-recheck",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per scorer; the report keeps the median")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-cascade.json")
    args = parser.parse_args()

    families = tuple(args.families.split(","))
    texts = dev_texts(args.data, families)
    if args.comments and args.comments < len(texts):  # evenly spaced, so every file keeps its share
        texts = [texts[i] for i in np.linspace(0, len(texts) - 1, args.comments).round().astype(int)]
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        MODERATION_CONFIG=str(args.config.resolve()),
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if args.threads is not None:
        env["MODERATION__SCORING__ACCURATE__THREADS"] = str(args.threads)
    scorers = args.scorers.split(",")
    times: dict[str, list[float]] = {scorer: [] for scorer in scorers}
    with tempfile.TemporaryDirectory(prefix="bench-cascade-") as tmp:
        path = Path(tmp) / "comments.jsonl"
        write_threads(texts, path)
        for _ in range(args.repeat):
            for scorer in scorers:
                spec, _, option = scorer.partition("+")
                name, _, runtime = spec.partition("@")
                command = [sys.executable, "-c", "from moderation.cli import main; main()", "score"]
                command += ["--input", str(path), "--output", str(Path(tmp) / "out.jsonl"), "--scorer", name]
                run_env = {**env, "MODERATION__SCORING__ACCURATE__RUNTIME": runtime} if runtime else dict(env)
                if option == "no-recheck":
                    run_env["MODERATION__SCORING__CASCADE__RECHECK_BANDS"] = "{}"
                started = time.perf_counter()
                subprocess.run(command, cwd=tmp, env=run_env, check=True, capture_output=True, text=True)
                times[scorer].append(time.perf_counter() - started)
                print(f"{scorer}: {times[scorer][-1]:.1f} s", flush=True)
    rows = []
    for scorer in scorers:
        seconds = statistics.median(times[scorer])
        row = {
            "scorer": scorer,
            "comments": len(texts),
            "seconds": seconds,
            "per_second": len(texts) / seconds,
            "runs": [round(t, 2) for t in times[scorer]],
        }
        if scorer.partition("+")[0].partition("@")[0] == "cascade":
            count = escalated(texts, args.config)
            row["escalated"] = f"{count} ({count / len(texts):.1%})"
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
        f"accurate threads {args.threads if args.threads is not None else 'from config'}",
        "comments": len(texts),
        "families": list(families),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
