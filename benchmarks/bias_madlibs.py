"""Do identity terms alone get a comment flagged? `moderation score --scorer NAME` on bias_madlibs sentences.

bias_madlibs (Dixon et al., AIES 2018; measured only, never trained on) holds templated sentences such as
"Myesha is a gracious homosexual" (non-toxic) and "Myesha is a disgusting homosexual" (toxic). Each drawn row
goes through the whole product as a comment of its own (its own post, no thread), with the shipped config:
the scorer, then the policy. Reported per scorer: the share of non-toxic rows flagged (for any reason, and for
`toxicity`), the share of toxic rows flagged, the toxicity ROC-AUC, per template, and the non-toxic rows with
the highest toxicity.

    python benchmarks/bias_madlibs.py [--rows 3000] [--scorers fast,cascade,accurate] [--config FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]


def draw(path: Path, rows: int) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    return random.Random(0).sample(table, min(rows, len(table)))


def score(rows: list[dict[str, Any]], scorer: str, config: Path, folder: Path) -> list[dict[str, Any]]:
    comments, output = folder / "madlibs.jsonl", folder / f"{scorer}.jsonl"
    with comments.open("w", encoding="utf-8") as out:
        for i, row in enumerate(rows):
            out.write(json.dumps({"id": f"m{i}", "post_id": f"p{i}", "author": f"a{i}", "text": row["text"]}) + "\n")
    env = {**os.environ, "MODERATION_CONFIG": str(config.resolve()), "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-c", "from moderation.cli import main; main()", "score", "--scorer", scorer]
    command += ["--input", str(comments), "--output", str(output)]
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True, text=True)
    with output.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def per_scorer(
    rows: list[dict[str, Any]],
    scorers: list[str],
    config: Path,
    summarise: Callable[[list[dict[str, Any]], list[dict[str, Any]]], dict[str, Any]],
    describe: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """Scorer -> its summary of `rows` (each with a "text") sent through `moderation score`, printed as it comes."""
    summaries = {}
    with tempfile.TemporaryDirectory(prefix="identity-terms-") as tmp:
        for scorer in scorers:
            summaries[scorer] = summarise(rows, score(rows, scorer, config, Path(tmp)))
            print(f"{scorer}: {describe(summaries[scorer])}", flush=True)
    return summaries


def summarise(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    toxic = np.array([float(row["toxicity"]) >= 0.5 for row in rows])
    toxicity = np.array([result["scores"]["toxicity"] for result in results])
    flagged = np.array([result["flagged"] for result in results])
    for_toxicity = np.array(["toxicity" in result["reasons"] for result in results])
    templates = {}
    for template in sorted({row["template"] for row in rows}):
        chosen = np.array([row["template"] == template for row in rows])
        clean = chosen & ~toxic
        templates[template] = {
            "non_toxic_rows": int(clean.sum()),
            "non_toxic_flagged": round(float(flagged[clean].mean()), 4) if clean.any() else None,
        }
    worst = np.argsort(-np.where(toxic, -1.0, toxicity))[:5]
    return {
        "rows": len(rows),
        "non_toxic_rows": int((~toxic).sum()),
        "non_toxic_flagged": round(float(flagged[~toxic].mean()), 4),
        "non_toxic_flagged_for_toxicity": round(float(for_toxicity[~toxic].mean()), 4),
        "toxic_flagged": round(float(flagged[toxic].mean()), 4),
        "toxicity_auc": round(float(roc_auc_score(toxic, toxicity)), 4),
        "templates": templates,
        "non_toxic_highest": [(rows[i]["text"], float(toxicity[i])) for i in worst],
    }


def describe(summary: dict[str, Any]) -> str:
    return (
        f"non-toxic flagged {summary['non_toxic_flagged']:.1%} (for toxicity "
        f"{summary['non_toxic_flagged_for_toxicity']:.1%}), toxic flagged {summary['toxic_flagged']:.1%}, "
        f"toxicity AUC {summary['toxicity_auc']:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--rows", type=int, default=3000, help="rows drawn at random (seed 0)")
    parser.add_argument("--scorers", default="fast,cascade,accurate")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "moderation.toml")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bias-madlibs.json")
    args = parser.parse_args()

    rows = draw(args.data / "bias_madlibs_77k.train.csv", args.rows)
    scorers = per_scorer(rows, args.scorers.split(","), args.config, summarise, describe)
    report = {"file": "bias_madlibs_77k.train.csv", "config": str(args.config), "scorers": scorers}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
