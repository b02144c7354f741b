"""`moderation train cascade`: fit the screen to the accurate tier, choose the cascade's bands for decisions
and write reports/cascade.md.

Fits the screen's scores to the accurate tier's on a sample of train rows (moderation/training/screen_fit.py),
scores every dev file with both tiers (the accurate tier's scores are cached per model version), chooses the
bands on the even rows' fitted scores (moderation/training/cascade_bands.py), measures them on the odd rows
against the accurate tier alone, and can write the bands into the config file and the fit beside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from moderation.config import Settings
from moderation.errors import ConfigError
from moderation.scoring.screen_fit import ScreenFit
from moderation.training.accurate_report import DevSet, accurate_dev_scores, dev_set
from moderation.training.cascade_bands import (
    NATURAL_FAMILIES,
    Agreement,
    Band,
    CascadeResult,
    Task,
    held_out_agreement,
    split_half,
)
from moderation.training.screen_fit import fit_screen, screen_inputs, screen_outputs, train_texts

if TYPE_CHECKING:
    from moderation.scoring.accurate import AccurateScorer

# Clearly-clean budgets the report shows the trade-off for: the accurate tier's flags kept vs comments escalated.
MISS_GRID = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
# ... and budgets for the screen's flags that stand unchecked (the band's top).
EXTRA_GRID = (0.0, 0.01, 0.02)
FIT_CACHE_NAME = "accurate-fit-scores.loaded.npz"


def choose_cascade(
    data_dir: Path,
    settings: Settings,
    report_path: Path,
    *,
    miss: float,
    extra: float,
    scores_cache: Path,
    rows_per_file: int = 0,
    fit_rows_per_file: int,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[CascadeResult, ScreenFit | None]:
    """Fit the screen to the accurate tier on train rows (unless the config turns the fit off), then choose the
    bands on the fitted screen's scores."""
    from moderation.scoring.accurate import AccurateScorer
    from moderation.scoring.base import load_scorer

    cascade = settings.scoring.cascade
    screen = load_scorer(cascade.screen, settings.scoring).text_scorer  # type: ignore[attr-defined]
    accurate = AccurateScorer(settings.scoring.accurate)
    tier = escalation_tier(cascade.accurate, settings, accurate)
    rechecks = tier is not accurate  # the int8 copy: the fp32 model rechecks its near-threshold scores
    labels = tuple(label for label in screen.labels if label in accurate.labels)
    columns = [accurate.engine.outputs.index(label) for label in labels]
    inputs = screen_inputs(screen)

    fit = None
    if cascade.screen_fit != "":  # "" in the config: the cascade escalates on the screen's own scores
        train = DevSet(train_texts(data_dir, fit_rows_per_file), [])
        progress(f"fitting the screen to the accurate tier on {sum(len(t) for t in train.texts.values())} train rows")
        accurate_train = accurate_dev_scores(accurate, train, scores_cache.with_name(FIT_CACHE_NAME), progress)
        fit = fit_screen(
            np.concatenate([screen_outputs(screen, texts, inputs) for texts in train.texts.values()]),
            np.concatenate([scores[:, columns] for scores in accurate_train.values()]),
            inputs=inputs,
            labels=labels,
            screen=f"{screen.name}/{screen.version}",
            accurate_tier=f"{accurate.name}/{accurate.version}",
            provenance={"train_rows_per_file": fit_rows_per_file, "families": list(train.texts)},
        )

    dev = dev_set(data_dir, rows_per_file)
    accurate_all = accurate_dev_scores(accurate, dev, scores_cache, progress)
    accurate_scores = {family: scores[:, columns] for family, scores in accurate_all.items()}
    tier_scores = None
    if tier is not accurate:
        tier_cache = scores_cache.with_name(f"{tier.precision}-{scores_cache.name}")
        tier_scores = {f: s[:, columns] for f, s in accurate_dev_scores(tier, dev, tier_cache, progress).items()}
    raw = {family: screen_outputs(screen, texts, inputs) for family, texts in dev.texts.items()}
    unfitted = {family: outputs[:, [inputs.index(label) for label in labels]] for family, outputs in raw.items()}
    screen_scores = {family: fit.refit(outputs) for family, outputs in raw.items()} if fit else unfitted
    tasks = [task for task in dev.tasks if task.label in labels]
    thresholds = {label: settings.policy.thresholds[label] for label in labels if label in settings.policy.thresholds}
    result = split_half(screen_scores, accurate_scores, labels, thresholds, tasks, miss, extra, tier_scores, rechecks)
    tradeoff = {  # the table shows no AUC: no tasks
        (fitted, m, e): split_half(scores, accurate_scores, labels, thresholds, [], m, e, tier_scores, rechecks)
        for fitted, scores in ((("fitted", screen_scores),) if fit else ()) + (("own scores", unfitted),)
        for m in MISS_GRID
        for e in EXTRA_GRID
    }
    report = _report(result, tasks, f"{screen.name}/{screen.version}", accurate.version, thresholds, miss, extra)
    if tier_scores is not None:
        report += _tier_section(tier.version, held_out_agreement(tier_scores, accurate_scores, labels, thresholds))
        report += _recheck_section(result, accurate.version) if rechecks else ""
    report_path.parent.mkdir(parents=True, exist_ok=True)
    bench = _throughput(report_path.parent / "bench-cascade.json")
    fit_section = _fit_section(fit) if fit else '\nNo screen fit (`scoring.cascade.screen_fit = ""`).\n'
    report_path.write_text(report + fit_section + _tradeoff(tradeoff) + bench, encoding="utf-8")
    return result, fit


def escalation_tier(name: str, settings: Settings, accurate: AccurateScorer) -> AccurateScorer:
    """The copy of the accurate model the cascade escalates to (scoring.cascade.accurate): `accurate` itself when
    that is the fp32 model."""
    from moderation.scoring.accurate import AccurateScorer, parse_precision

    kind, _, variant = name.partition(":")
    if kind != "accurate":
        raise ConfigError(
            f"scoring.cascade.accurate = {name!r}: `moderation train cascade` chooses bands for the accurate tier; "
            'use "accurate" or "accurate:int8"'
        )
    precision = parse_precision(variant)
    return accurate if precision == accurate.precision else AccurateScorer(settings.scoring.accurate, precision)


def _recheck_section(result: CascadeResult, accurate: str) -> str:
    return "\n".join(
        [
            "\n## The recheck\n",
            f"An escalated comment whose escalation-tier score for a label lies in that label's recheck band is scored "
            f"again by the fp32 `{accurate}`, which decides it. Per label, the band holds the "
            "escalation tier's scores of every even dev row whose flag it sets differently from the fp32 model "
            "(no band: they never differ). Every figure above counts the recheck.\n",
            "```toml",
            "[scoring.cascade.recheck_bands]",
            *bands_toml(result.recheck_bands),
            "```\n",
            f"Rechecked: **{result.rechecked['natural']:.1%}** of natural traffic, {result.rechecked['all']:.1%} of "
            "every dev row (both out of all the rows, not of those escalated).",
            "",
        ]
    )


def _tier_section(version: str, agreement: tuple[Agreement, Agreement]) -> str:
    labels, comments = agreement
    return (
        "\n## The escalation tier\n\n"
        f"Escalated comments are scored by `{version}` (`scoring.cascade.accurate`), not by the accurate tier above; "
        "every figure in this report counts its differences. Alone, on the same odd dev rows, it keeps "
        f"{labels.kept_share:.1%} of the accurate tier's flags with {labels.extra_share:.1%} extra "
        f"({comments.kept_share:.1%} and {comments.extra_share:.1%} of its flagged comments).\n"
    )


def bands_toml(bands: Mapping[str, Band]) -> list[str]:
    return [f"{label} = [{low:.4f}, {high:.4f}]" for label, (low, high) in bands.items()]


def write_bands(config_path: Path, result: CascadeResult) -> None:
    """Replace the key lines of the [scoring.cascade.bands] table in the config file, keeping its comments, and
    those of [scoring.cascade.recheck_bands] (added at the end where the file has no such table)."""
    text = _with_table(config_path, config_path.read_text(encoding="utf-8"), "scoring.cascade.bands", result.bands)
    text = _with_table(config_path, text, "scoring.cascade.recheck_bands", result.recheck_bands, add=True)
    config_path.write_text(text, encoding="utf-8")


def _with_table(config_path: Path, text: str, name: str, bands: Mapping[str, Band], add: bool = False) -> str:
    table = re.search(rf"^\[{re.escape(name)}\]\n((?:#.*\n)*)((?:[^\[\n].*\n)*)", text, re.MULTILINE)
    lines = "".join(f"{line}\n" for line in bands_toml(bands))
    if table is None and add:  # even empty: an absent table would mean the shipped defaults
        return text.rstrip("\n") + f"\n\n[{name}]\n{lines}"
    if table is None:
        raise ConfigError(f"{config_path}: no [{name}] table to write the bands into")
    return text[: table.start(2)] + lines + "\n" + text[table.end(2) :].lstrip("\n")


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
        "A comment is escalated when any label's screen score (fitted to the accurate tier's, see below) lies in "
        "that label's band [low, high): low is the "
        f"screen's clearly-clean bound (at most {miss:.0%} of the accurate tier's flags below it), high the score "
        f"from which the screen's flag stands (its flags there that the accurate tier would not make: at most "
        f"{extra:.0%} of the accurate tier's flags). Bands chosen on the even rows of every dev file; every figure "
        "below is measured on the odd rows.\n",
        "```toml",
        "[scoring.cascade.bands]",
        *bands_toml(result.bands),
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
    comments = result.comments
    lines += [
        "",
        f"Comments flagged for any label (the decision a moderator sees: queued or not): the accurate tier flags "
        f"{comments.accurate_flags}, the cascade flags **{comments.kept_share:.1%}** of them and "
        f"{comments.extra} ({comments.extra_share:.1%}) others.",
    ]
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


def _tradeoff(results: dict[tuple[str, float, float], CascadeResult]) -> str:
    lines = [
        "\n## Trade-off: the clearly-clean and stand-alone budgets against the share escalated\n",
        "Bands chosen on the even rows with `--miss` and `--extra` as below; measured on the odd rows; on the fitted "
        "screen's scores (what the cascade uses) and, for comparison, on the screen's own scores. Rows that keep "
        "decisions within 2% of the accurate tier's (at least 98% of its flags kept and at most 2% extra, counted both "
        "as (comment, label) pairs and as flagged comments) are marked.\n",
        "| screen scores | --miss | --extra | accurate's flags kept | extra flags | flagged comments kept | "
        "extra flagged comments | within 2% | escalated, natural traffic | escalated, all dev rows | "
        "rechecked, natural traffic |",
        "|---|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|",
    ]
    for (fitted, miss, extra), result in results.items():
        agreement, comments = result.agreement["all"], result.comments
        within = "yes" if all(a.kept_share >= 0.98 and a.extra_share <= 0.02 for a in (agreement, comments)) else ""
        lines.append(
            f"| {fitted} | {miss:g} | {extra:g} | {agreement.kept_share:.1%} | {agreement.extra_share:.1%} | "
            f"{comments.kept_share:.1%} | {comments.extra_share:.1%} | {within} | {result.escalated['natural']:.1%} | "
            f"{result.escalated['all']:.1%} | {result.rechecked['natural']:.1%} |"
        )
    return "\n".join([*lines, ""])


def _fit_section(fit: ScreenFit) -> str:
    rows = fit.provenance.get("train_rows_per_file")
    lines = [
        "\n## The screen's fit to the accurate tier\n",
        f"Per label, a logistic regression from the logits of the screen's outputs ({', '.join(fit.inputs)}) to the "
        f"accurate tier's score (soft targets), fitted on {rows} random train rows of each of "
        f"{', '.join(fit.provenance.get('families', []))} (moderation/training/screen_fit.py); shipped as "
        "`moderation/scoring/models/cascade/screen-fit.json`. The bands above apply to these fitted scores.\n",
        "| label | intercept | " + " | ".join(fit.inputs) + " |",
        "|---|---:|" + "---:|" * len(fit.inputs),
        *[
            f"| {label} | {fit.intercepts[label]:.3f} | " + " | ".join(f"{w:.3f}" for w in fit.weights[label]) + " |"
            for label in fit.labels
        ],
    ]
    return "\n".join([*lines, ""])


def _throughput(path: Path) -> str:
    lines = ["\n## Whole-process throughput (benchmarks/bench_cascade.py)\n"]
    if not path.is_file():
        return "\n".join([*lines, f"Not measured: run `python benchmarks/bench_cascade.py` (writes {path}).", ""])
    bench = json.loads(path.read_text(encoding="utf-8"))
    lines += [
        f"`moderation score --scorer NAME` on {bench['comments']} dev comments drawn evenly from "
        f"{', '.join(bench.get('families', NATURAL_FAMILIES))}, fresh process per run, runs "
        f"interleaved, median kept ({bench['machine']}). The cascade row uses the bands configured when it ran.\n",
        "| scorer | comments | median seconds | comments/s | runs (s) | escalated |",
        "|---|---:|---:|---:|---|---:|",
        *[
            f"| {row['scorer']} | {row['comments']} | {row['seconds']:.1f} | {row['per_second']:.0f} | "
            f"{', '.join(str(t) for t in row['runs'])} | {row.get('escalated', '')} |"
            for row in bench["rows"]
        ],
    ]
    return "\n".join([*lines, *_throughput_by_file(path), ""])


def _throughput_by_file(path: Path) -> list[str]:
    """The cascade's rows of the one-file runs (`--families NAME --out reports/bench-cascade-NAME.json`)."""
    rows = []
    for one in sorted(path.parent.glob(f"{path.stem}-*.json")):
        bench = json.loads(one.read_text(encoding="utf-8"))
        rows += [
            f"| {', '.join(bench.get('families', []))} | {row['scorer']} | {row['comments']} | "
            f"{row['per_second']:.0f} | {row.get('escalated', '')} |"
            for row in bench["rows"]
        ]
    if not rows:
        return []
    return [
        "\nOne dev file at a time (`--families NAME --out reports/bench-cascade-NAME.json`): how the speed follows "
        "the share escalated, which follows how much of the traffic is toxic.\n",
        "| dev file | scorer | comments | comments/s | escalated |",
        "|---|---|---:|---:|---:|",
        *rows,
    ]
