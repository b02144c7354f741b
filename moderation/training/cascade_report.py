"""`moderation train cascade`: choose the cascade's bands for decisions and write reports/cascade.md.

Scores every dev file with the configured screen and accurate tiers (the accurate tier's scores are cached
per model version), chooses the bands on the even rows (moderation/training/cascade_bands.py), measures
them on the odd rows against the accurate tier alone, and can write them into the config file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from moderation.config import Settings
from moderation.errors import ConfigError
from moderation.training.accurate_report import Scores, accurate_dev_scores, dev_set
from moderation.training.cascade_bands import NATURAL_FAMILIES, CascadeResult, Task, split_half

# Clearly-clean budgets the report shows the trade-off for: the accurate tier's flags kept vs comments escalated.
MISS_GRID = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
# ... and budgets for the screen's flags that stand unchecked (the band's top).
EXTRA_GRID = (0.0, 0.01, 0.02)


def choose_cascade(
    data_dir: Path,
    settings: Settings,
    report_path: Path,
    *,
    miss: float,
    extra: float,
    scores_cache: Path,
    rows_per_file: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> CascadeResult:
    from moderation.scoring.accurate import AccurateScorer
    from moderation.scoring.base import load_scorer

    cascade = settings.scoring.cascade
    screen = load_scorer(cascade.screen, settings.scoring).text_scorer  # type: ignore[attr-defined]
    accurate = AccurateScorer(settings.scoring.accurate)
    labels = tuple(label for label in screen.labels if label in accurate.labels)
    dev = dev_set(data_dir, rows_per_file)
    accurate_all = accurate_dev_scores(accurate, dev, scores_cache, progress)
    columns = [accurate.engine.outputs.index(label) for label in labels]
    accurate_scores = {family: scores[:, columns] for family, scores in accurate_all.items()}
    screen_scores: dict[str, Scores] = {}
    for family, texts in dev.texts.items():
        results = screen.score_texts(texts)
        screen_scores[family] = np.array([[r.scores[label] for label in labels] for r in results], dtype=np.float32)
    tasks = [task for task in dev.tasks if task.label in labels]
    thresholds = {label: settings.policy.thresholds[label] for label in labels if label in settings.policy.thresholds}
    result = split_half(screen_scores, accurate_scores, labels, thresholds, tasks, miss, extra)
    tradeoff = {
        (m, e): split_half(screen_scores, accurate_scores, labels, thresholds, tasks, m, e)
        for m in MISS_GRID
        for e in EXTRA_GRID
    }
    report = _report(result, tasks, f"{screen.name}/{screen.version}", accurate.version, thresholds, miss, extra)
    tradeoff_table = _tradeoff(tradeoff)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    bench = _throughput(report_path.parent / "bench-cascade.json")
    report_path.write_text(report + tradeoff_table + bench, encoding="utf-8")
    return result


def bands_toml(result: CascadeResult) -> list[str]:
    return [f"{label} = [{low:.4f}, {high:.4f}]" for label, (low, high) in result.bands.items()]


def write_bands(config_path: Path, result: CascadeResult) -> None:
    """Replace the key lines of the [scoring.cascade.bands] table in the config file, keeping its comments."""
    text = config_path.read_text(encoding="utf-8")
    table = re.search(r"^\[scoring\.cascade\.bands\]\n((?:#.*\n)*)((?:[^\[\n].*\n)*)", text, re.MULTILINE)
    if table is None:
        raise ConfigError(f"{config_path}: no [scoring.cascade.bands] table to write the bands into")
    lines = "".join(f"{line}\n" for line in bands_toml(result))
    config_path.write_text(text[: table.start(2)] + lines + "\n" + text[table.end(2) :].lstrip("\n"), encoding="utf-8")


def _report(
    result: CascadeResult,
    tasks: list[Task],
    screen: str,
    accurate: str,
    thresholds: dict[str, float],
    miss: float,
    extra: float,
) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# The cascade, chosen for decisions\n",
        f"Written by `moderation train cascade` on {when}. Screen `{screen}`, accurate tier `{accurate}`. "
        "A comment is escalated when any label's screen score lies in that label's band [low, high): low is the "
        f"screen's clearly-clean bound (at most {miss:.0%} of the accurate tier's flags below it), high the score "
        f"from which the screen's flag stands (its flags there that the accurate tier would not make: at most "
        f"{extra:.0%} of the accurate tier's flags). Bands chosen on the even rows of every dev file; every figure "
        "below is measured on the odd rows.\n",
        "```toml",
        "[scoring.cascade.bands]",
        *bands_toml(result),
        "```\n",
        "## Decisions against the accurate tier alone\n",
        "Flags are (comment, label) pairs with score >= the label's threshold (policy.thresholds).\n",
        "| label | threshold | accurate's flags | kept by the cascade | extra flags |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, agreement in result.agreement.items():
        threshold = f"{thresholds[label]:.2f}" if label in thresholds else ""
        lines.append(
            f"| {label} | {threshold} | {agreement.accurate_flags} | {agreement.kept_share:.1%} | "
            f"{agreement.extra} ({agreement.extra_share:.1%}) |"
        )
    natural = ", ".join(family for family in result.escalated if family in NATURAL_FAMILIES)
    lines += [
        "",
        "## Escalated\n",
        f"Natural traffic (the natural-prevalence dev files: {natural}): **{result.escalated['natural']:.1%}** "
        f"escalated; every dev row: {result.escalated['all']:.1%}.\n",
        "| dev file | escalated |",
        "|---|---:|",
        *[f"| {family} | {share:.1%} |" for family, share in result.escalated.items()],
        "",
        "## AUC per task (odd dev rows)\n",
        "| dev file | label | positives | screen | accurate | cascade |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for task in tasks:
        key = (task.family, task.label)
        lines.append(
            f"| {task.family} | {task.label} | {int(task.gold[1::2].sum())} | {result.auc_screen[key]:.4f} | "
            f"{result.auc_accurate[key]:.4f} | {result.auc_cascade[key]:.4f} |"
        )
    return "\n".join([*lines, ""])


def _tradeoff(results: dict[tuple[float, float], CascadeResult]) -> str:
    lines = [
        "\n## Trade-off: the clearly-clean and stand-alone budgets against the share escalated\n",
        "Bands chosen on the even rows with `--miss` and `--extra` as below; measured on the odd rows. Rows that keep "
        "decisions within 2% of the accurate tier's (at least 98% of its flags kept, at most 2% extra) are marked.\n",
        "| --miss | --extra | accurate's flags kept | extra flags | within 2% | escalated, natural traffic | "
        "escalated, all dev rows |",
        "|---:|---:|---:|---:|:---:|---:|---:|",
    ]
    for (miss, extra), result in results.items():
        agreement = result.agreement["all"]
        within = "yes" if agreement.kept_share >= 0.98 and agreement.extra_share <= 0.02 else ""
        lines.append(
            f"| {miss:g} | {extra:g} | {agreement.kept_share:.1%} | {agreement.extra_share:.1%} | {within} | "
            f"{result.escalated['natural']:.1%} | {result.escalated['all']:.1%} |"
        )
    return "\n".join([*lines, ""])


def _throughput(path: Path) -> str:
    lines = ["\n## Whole-process throughput (benchmarks/bench_cascade.py)\n"]
    if not path.is_file():
        return "\n".join([*lines, f"Not measured: run `python benchmarks/bench_cascade.py` (writes {path}).", ""])
    bench = json.loads(path.read_text(encoding="utf-8"))
    lines += [
        f"`moderation score --scorer NAME` on {bench['comments']} natural dev comments, fresh process per run, runs "
        f"interleaved, median kept ({bench['machine']}). The cascade row uses the bands configured when it ran.\n",
        "| scorer | comments | median seconds | comments/s | runs (s) | escalated |",
        "|---|---:|---:|---:|---|---:|",
        *[
            f"| {row['scorer']} | {row['comments']} | {row['seconds']:.1f} | {row['per_second']:.0f} | "
            f"{', '.join(str(t) for t in row['runs'])} | {row.get('escalated', '')} |"
            for row in bench["rows"]
        ],
    ]
    return "\n".join([*lines, ""])
