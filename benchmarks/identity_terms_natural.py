"""Do real comments that name a group get flagged more than others? `moderation score` on natural dev rows.

bias_madlibs.py measures templated sentences ("Myesha is a gracious homosexual"); this measures the comments
sites actually get. From the natural-prevalence dev files (those the cascade's escalation rate is reported on),
every row that names a group (an identity term of training/identity_balance.py: "gay", "Muslims", "Black", ...)
and as many rows drawn at random (seed 0) from those that name none go through the whole product, each as a
comment of its own, with the shipped config. Per scorer and for both kinds of row: the share of negative rows
(every label the file carries below 0.5) flagged, and the share of positive rows flagged.

    python benchmarks/identity_terms_natural.py [--scorers fast,cascade,accurate] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bias_madlibs import ROOT, per_scorer

from moderation.training.accurate import label_matrix
from moderation.training.cascade_bands import NATURAL_FAMILIES
from moderation.training.data import read_table
from moderation.training.identity_balance import FORM_PATTERNS


def draw(data: Path) -> list[dict[str, Any]]:
    """Rows naming a group, then as many naming none, from each natural dev file."""
    rows: list[dict[str, Any]] = []
    for family in NATURAL_FAMILIES:
        table = read_table(data, family, "dev")
        targets, mask = label_matrix(table, family)
        positive = ((targets >= 0.5) & (mask > 0)).any(axis=1)
        naming = [any(pattern.search(text) for _, pattern in FORM_PATTERNS) for text in table.texts]
        chosen = [i for i, names in enumerate(naming) if names]
        others = [i for i, names in enumerate(naming) if not names]
        chosen += random.Random(0).sample(others, min(len(chosen), len(others)))
        for i in chosen:
            rows.append({"text": table.texts[i], "family": family, "names": naming[i], "positive": bool(positive[i])})
    return rows


def summarise(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The shares flagged over every file, then per file (whose "negative" means what its labels mean)."""
    flagged = np.array([result["flagged"] for result in results])
    summary = shares(rows, flagged, np.ones(len(rows), dtype=bool))
    summary["files"] = {}
    for family in NATURAL_FAMILIES:
        summary["files"][family] = shares(rows, flagged, np.array([row["family"] == family for row in rows]))
    return summary


def shares(rows: list[dict[str, Any]], flagged: np.ndarray, within: np.ndarray) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for kind, names in (("naming_a_group", True), ("naming_none", False)):
        for label, positive in (("negative", False), ("positive", True)):
            chosen = within & np.array([row["names"] == names and row["positive"] == positive for row in rows])
            summary[f"{kind}_{label}_rows"] = int(chosen.sum())
            summary[f"{kind}_{label}_flagged"] = round(float(flagged[chosen].mean()), 4) if chosen.any() else None
    return summary


def describe(summary: dict[str, Any]) -> str:
    return (
        f"negative rows flagged, naming a group {summary['naming_a_group_negative_flagged']:.1%} "
        f"({summary['naming_a_group_negative_rows']} rows), naming none {summary['naming_none_negative_flagged']:.1%} "
        f"({summary['naming_none_negative_rows']}); positive rows flagged "
        f"{summary['naming_a_group_positive_flagged']:.1%} / {summary['naming_none_positive_flagged']:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--scorers", default="fast,cascade,accurate")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "moderation.toml")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "identity-terms-natural.json")
    args = parser.parse_args()

    rows = draw(args.data)
    scorers = per_scorer(rows, args.scorers.split(","), args.config, summarise, describe)
    report = {"files": [f"{family}.dev.csv" for family in NATURAL_FAMILIES], "scorers": scorers}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
