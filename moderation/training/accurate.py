"""`moderation train accurate`: fine-tune the MiniLM encoder with low-rank adapters and a multi-output head.

Outputs are Detoxify's six labels and the auxiliary tasks (moderation/training/data.py). Multi-task with
masked losses: each file family supervises only the outputs it has (a Jigsaw row adds no `attack` loss).
Targets are annotator fractions (soft labels); evaluation counts a row positive at >= 0.5.

Training is resumable: every few minutes, and at the end of each sitting, the trainable tensors, optimizer,
scheduler, RNG state, position in the data order and the learning curve are written atomically to a
checkpoint folder; `resume` continues from there exactly. The data order is a function of the seed and the
epoch alone, so the position is one number (batches done). Every `curve_every` examples a fixed subsample of
each dev file is scored and its AUC per output appended to the curve. The shipped artifact (small deltas over
the packaged MiniLM) is exported from the model as it stands at the end of a sitting, or from the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moderation.scoring.accurate_artifact import BASE_PACKAGE, Artifact, base_model_dir, write_artifact
from moderation.training.data import (
    AUXILIARY_SOURCES,
    DEFAULT_DATA_DIR,
    LABEL_SOURCES,
    LABELS,
    Table,
    TrainingDataError,
    read_table,
)
from moderation.training.identity_balance import balancing_copies, counterfactuals, positive_twins

__all__ = [
    "AUXILIARY",
    "DEFAULT_CHECKPOINT_DIR",
    "DEFAULT_DATA_DIR",
    "LABELS",
    "OUTPUTS",
    "SUPERVISION",
    "TrainOptions",
    "export_checkpoint",
    "label_matrix",
    "train_accurate",
]

AUXILIARY = tuple(AUXILIARY_SOURCES)
# The classifier's outputs, in order: the labels shown, then the auxiliary tasks.
OUTPUTS = LABELS + AUXILIARY
# The same mapping by file: which columns of which file family give an output (summed).
SUPERVISION: dict[str, dict[str, tuple[str, ...]]] = {}
for _output, _sources in {**LABEL_SOURCES, **AUXILIARY_SOURCES}.items():
    for _source in _sources:
        SUPERVISION.setdefault(_source.family, {})[_output] = _source.columns
DEFAULT_CHECKPOINT_DIR = Path("~/.cache/comment-moderation/train-accurate")
CHECKPOINT_FILE = "checkpoint.pt"
CURVE_FILE = "curve.json"
# Linear layers that get adapters, in every encoder layer: attention q, k, v and output, and the feed-forward.
ADAPTED = ("query", "key", "value", "output.dense", "intermediate.dense")
# Trained outright and shipped whole: small.
REPLACED = ("classifier.", "bert.pooler.", "LayerNorm.")
REFERENCE_TEXTS = (
    "Slaven, you're an idiot!",
    "Thanks for the link, the second chart answers my question.",
    "Shut the fuck up, nobody asked you.",
    "People like you should go back where you came from.",
    "I disagree with the editor's reading of the 1976 treaty.",
    "what a load of crap lol",
    "I know where you live. I will find you and kill you.",
    "You are a pathetic loser and everyone here knows it. " * 40,
)


@dataclass(frozen=True)
class TrainOptions:
    """What shapes the run (kept in the checkpoint; a resumed run uses the saved values) and what bounds
    one sitting (SITTING_FIELDS: taken from the command line on every start)."""

    per_family: int = 0
    """Training rows drawn at random from each file family; 0: all of them."""
    max_length: int = 128
    """Tokens per training text."""
    eval_max_length: int = 128
    """Tokens per text at inference (the shipped model's max length)."""
    batch_size: int = 32
    epochs: int = 3
    learning_rate: float = 1e-3
    warmup_steps: int = 300
    rank: int = 8
    alpha: float = 16.0
    seed: int = 0
    curve_every: int = 10_000
    """Examples between two points of the learning curve."""
    curve_rows: int = 500
    """Rows of each dev file (a fixed random subsample) scored for each point of the curve."""
    identity_balance: bool = False
    """Add counterfactual copies of negative rows so that no identity term is mostly seen in positive ones
    (training/identity_balance.py; off for the shipped model, reports/identity-terms.md)."""
    counterfactual_weight: float = 0.0
    """Weight of the counterfactual logit pairing loss: the mean absolute difference between a row's logits and
    those of the row with one identity term replaced by another (training/identity_balance.py); 0: off."""
    unpaired_outputs: tuple[str, ...] = ()
    """Outputs left out of the pairing loss: those that may rightly depend on which group a row names."""
    positive_twins: int = 0
    """Add each drawn positive row that names a group this many times more, each with one identity term
    replaced by another and the row's targets kept: hostility towards one group is hostility towards any, so
    debiasing the friendly mentions does not teach that a sentence naming a group is benign
    (training/identity_balance.py)."""
    pair_positives: bool = True
    """Pair rows with a positive label too. False: only rows whose every label is negative, whose twins are the
    friendly mentions a biased model flags; a toxic row's twin need not be as toxic ("ur gay" is an insult in
    the train files)."""
    init_from: str = ""
    """An exported artifact folder to start from (its adapters, head and layer norms, its curve and examples
    seen), with a new optimizer: continues training when the checkpoint is gone. With the artifact's own
    training options (seed, epochs, ...) it goes on where that run stopped in the data order and learning-rate
    schedule; with others, it starts a new order. "": start from MiniLM."""
    max_minutes: float = 15.0
    """This sitting stops here (checkpoint and export first); `resume` continues."""
    max_steps: int = 0
    """This sitting stops after this many batches; 0: no limit."""
    checkpoint_minutes: float = 5.0
    threads: int = 0
    device: str = "cpu"


SITTING_FIELDS = ("max_minutes", "max_steps", "checkpoint_minutes", "threads", "device")


@dataclass
class Examples:
    texts: list[str] = field(default_factory=list)
    targets: list[list[float]] = field(default_factory=list)
    masks: list[list[float]] = field(default_factory=list)


@dataclass
class Progress:
    """Where training stands: saved in the checkpoint."""

    step: int = 0
    """Batches done, counted over all epochs in the fixed data order."""
    examples: int = 0
    seconds: float = 0.0
    """Training time over all sittings (curve evaluation and checkpoints excluded)."""
    curve: list[dict[str, Any]] = field(default_factory=list)
    earlier: dict[str, Any] | None = None
    """The run this one started from (`init_from` with other options), as its artifact recorded it."""


@dataclass(frozen=True)
class TrainResult:
    artifact: Artifact | None
    progress: Progress
    planned_steps: int
    dev_scores: dict[str, npt.NDArray[np.float32]]


@dataclass
class Run:
    """Everything a sitting needs: the model, its data and its optimizer."""

    options: TrainOptions
    model: Any
    tokenizer: Any
    trainable: dict[str, Any]
    optimizer: Any
    schedule: Any
    encoded: list[list[int]]
    targets: Any
    masks: Any
    batches: list[list[int]]
    data: dict[str, Any]
    progress: Progress
    counterfactual: dict[int, list[int]] = field(default_factory=dict)
    """Row -> token ids of its counterfactual (for logit pairing)."""


def label_matrix(table: Table, family: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """(targets, mask), each (rows, OUTPUTS): soft targets in 0..1, mask 1 where the family gives the output."""
    targets = np.zeros((len(table), len(OUTPUTS)), dtype=np.float32)
    mask = np.zeros_like(targets)
    for output, columns in SUPERVISION[family].items():
        k = OUTPUTS.index(output)
        targets[:, k] = np.clip(np.sum([table.columns[c] for c in columns], axis=0), 0.0, 1.0)
        mask[:, k] = 1.0
    return targets, mask


def training_examples(data_dir: Path, options: TrainOptions) -> tuple[Examples, dict[str, Any]]:
    rng = random.Random(options.seed)
    examples, described = Examples(), {}
    for family in SUPERVISION:
        table = read_table(data_dir, family, "train")
        wanted = options.per_family or len(table)
        chosen = sorted(rng.sample(range(len(table)), min(wanted, len(table))))
        all_targets, mask = label_matrix(table, family)
        targets = all_targets[chosen]
        texts = [table.texts[i] for i in chosen]
        masks = mask[chosen]
        positive = positive_rows(targets, masks)
        examples.texts += texts
        examples.targets += targets.tolist()
        examples.masks += masks.tolist()
        described[f"{table.name}.csv"] = {
            "sha256": table.sha256,
            "rows": len(table),
            "used": len(chosen),
            "positives": {out: int((targets[:, OUTPUTS.index(out)] >= 0.5).sum()) for out in SUPERVISION[family]},
        }
        if options.identity_balance:
            copies = balancing_copies(texts, positive, options.seed)
            _add_copies(examples, [(copy.row, copy.text) for copy in copies], targets, masks)
            described[f"{table.name}.csv"]["identity_copies"] = dict(Counter(copy.term for copy in copies))
        if options.positive_twins:
            twins = positive_twins(texts, positive, options.positive_twins, options.seed)
            _add_copies(examples, twins, targets, masks)
            described[f"{table.name}.csv"]["positive_twins"] = len(twins)
    return examples, described


def positive_rows(targets: npt.NDArray[np.floating], masks: npt.NDArray[np.floating]) -> npt.NDArray[np.bool_]:
    """The rows with a positive label (>= 0.5) among the outputs their family supervises."""
    return np.asarray(((targets >= 0.5) & (masks > 0)).any(axis=1))


def _add_copies(
    examples: Examples, copies: list[tuple[int, str]], targets: npt.NDArray[np.float32], masks: npt.NDArray[np.float32]
) -> None:
    """Each (row, text) as a training row of its own, with that row's targets and mask."""
    examples.texts += [text for _, text in copies]
    examples.targets += targets[[row for row, _ in copies]].tolist()
    examples.masks += masks[[row for row, _ in copies]].tolist()


def train_accurate(
    data_dir: Path,
    out_dir: Path,
    options: TrainOptions = TrainOptions(),
    *,
    checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR,
    resume: bool = False,
    dev_scores_path: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> TrainResult:
    """One sitting: train from the start (or, with `resume`, from the checkpoint) until done or out of time,
    checkpoint, then export the artifact to `out_dir` (if given) and the dev scores (if asked)."""
    checkpoint_dir = checkpoint_dir.expanduser()
    saved = _load_checkpoint(checkpoint_dir) if resume else None
    if saved is not None:
        sitting = {name: getattr(options, name) for name in SITTING_FIELDS}
        options = replace(options_from(saved["options"]), **sitting)
        progress(f"resuming from {checkpoint_dir} at step {saved['progress']['step']}")
    elif resume:
        progress(f"no checkpoint in {checkpoint_dir}: starting from the beginning")
    run = _prepare(data_dir, options, saved, progress)
    _train_sitting(run, data_dir, checkpoint_dir, progress)
    artifact = export_run(run, out_dir, progress) if out_dir else None
    dev_scores = _dev_scores(run, data_dir, dev_scores_path, progress) if dev_scores_path else {}
    return TrainResult(artifact, run.progress, len(run.batches), dev_scores)


def export_checkpoint(
    data_dir: Path,
    out_dir: Path,
    checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR,
    *,
    options: TrainOptions = TrainOptions(),
    dev_scores_path: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> TrainResult:
    """Write the shipped artifact from the latest checkpoint, without training."""
    checkpoint_dir = checkpoint_dir.expanduser()
    saved = _load_checkpoint(checkpoint_dir)
    if saved is None:
        raise TrainingDataError(f"{checkpoint_dir}: no checkpoint to export; run `moderation train accurate` first")
    sitting = {name: getattr(options, name) for name in SITTING_FIELDS}
    run = _prepare(data_dir, replace(options_from(saved["options"]), **sitting), saved, progress)
    artifact = export_run(run, out_dir, progress)
    dev_scores = _dev_scores(run, data_dir, dev_scores_path, progress) if dev_scores_path else {}
    return TrainResult(artifact, run.progress, len(run.batches), dev_scores)


def paired_rows(examples: Examples, options: TrainOptions) -> dict[int, str]:
    """Row -> its counterfactual, for the rows that counterfactual logit pairing uses (TrainOptions)."""
    pairs = counterfactuals(examples.texts, options.seed)
    if options.pair_positives:
        return pairs
    positive = positive_rows(np.asarray(examples.targets), np.asarray(examples.masks))
    return {row: text for row, text in pairs.items() if not positive[row]}


def options_from(saved: dict[str, Any]) -> TrainOptions:
    known = {f.name for f in fields(TrainOptions)}
    return TrainOptions(**{k: v for k, v in saved.items() if k in known})


def _prepare(
    data_dir: Path, options: TrainOptions, saved: dict[str, Any] | None, progress: Callable[[str], None]
) -> Run:
    import torch
    import transformers

    from moderation.scoring.inference import use_threads
    from moderation.training.lora import add_adapters

    use_threads(options.threads)
    torch.manual_seed(options.seed)
    examples, data = training_examples(data_dir, options)
    progress(f"{len(examples.texts)} training rows from {len(data)} files")
    base = base_model_dir()
    tokenizer = transformers.BertTokenizer.from_pretrained(base)  # the fast, Rust-backed one in transformers 5
    config = transformers.BertConfig.from_pretrained(base, num_labels=len(OUTPUTS))
    model = transformers.BertForSequenceClassification.from_pretrained(base, config=config)
    for parameter in model.parameters():
        parameter.requires_grad = False
    add_adapters(model, ADAPTED, options.rank, options.alpha)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = "lora_" in name or _is_replaced(name)
    model.to(options.device)  # type: ignore[arg-type]  # transformers types `to` through a decorator
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    encoded = tokenizer(examples.texts, truncation=True, max_length=options.max_length)["input_ids"]
    batches = [b for e in range(options.epochs) for b in _length_batches(encoded, options.batch_size, options.seed + e)]
    optimizer = torch.optim.AdamW(list(trainable.values()), lr=options.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(options.warmup_steps, len(batches)))
    run = Run(
        options,
        model,
        tokenizer,
        trainable,
        optimizer,
        schedule,
        encoded,
        torch.tensor(examples.targets),
        torch.tensor(examples.masks),
        batches,
        data,
        Progress(),
    )
    if options.counterfactual_weight:
        pairs = paired_rows(examples, options)
        if pairs:  # the tokenizer fails on an empty list
            ids = tokenizer(list(pairs.values()), truncation=True, max_length=options.max_length)["input_ids"]
            run.counterfactual = dict(zip(pairs, ids, strict=True))
        progress(f"{len(pairs)} rows paired with a counterfactual (an identity term replaced)")
    if saved is not None:
        _restore(run, saved)
    elif options.init_from:
        _start_from_artifact(run, Path(options.init_from), progress)
    return run


def _start_from_artifact(run: Run, artifact_dir: Path, progress: Callable[[str], None]) -> None:
    """Load an exported artifact's weights into the adapters and replaced tensors; carry its curve over."""
    import torch
    from safetensors.torch import load_file

    from moderation.scoring.accurate_artifact import read_artifact

    artifact = read_artifact(artifact_dir)
    lora = artifact.meta["lora"]
    if (lora["rank"], lora["alpha"]) != (run.options.rank, run.options.alpha):
        raise TrainingDataError(
            f"{artifact_dir}: adapters of rank {lora['rank']}, alpha {lora['alpha']}; expected "
            f"rank {run.options.rank}, alpha {run.options.alpha}"
        )
    tensors = load_file(artifact.deltas_path)
    scale = run.options.alpha / run.options.rank
    with torch.no_grad():
        for name, parameter in run.trainable.items():
            parameter.copy_(_artifact_tensor(tensors, name, scale, artifact_dir))
    training = artifact.meta["training"]
    # As model.json holds them (tuples as lists); an option the artifact predates had its default there.
    current, recorded = (json.loads(json.dumps(asdict(o))) for o in (run.options, TrainOptions()))
    recorded |= training["options"]
    compared = [name for name in recorded if name != "init_from" and name not in SITTING_FIELDS]
    same_order = all(recorded[name] == current[name] for name in compared)
    run.progress = Progress(
        step=training["steps"] if same_order else 0,
        examples=training["examples_seen"],
        seconds=training["seconds"],
        curve=training["curve"],
        earlier=training.get("earlier") if same_order else _earlier_run(artifact.version, training),
    )
    where = f"at step {run.progress.step}" if same_order else "at step 0 of a new data order"
    progress(f"starting from {artifact.version} ({training['examples_seen']} examples seen), {where}")
    with warnings.catch_warnings():  # stepping the schedule alone is the point: the rate where that run left it
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(run.progress.step):
            run.schedule.step()


def _earlier_run(version: str, training: dict[str, Any]) -> dict[str, Any]:
    """What an artifact's run did, for the record of a run started from it (its curve stays in the curve)."""
    return {
        "version": version,
        **{key: training[key] for key in ("options", "steps", "examples_seen", "epochs_done", "seconds")},
        "data": {name: info["used"] for name, info in training["data"].items()},
        "earlier": training.get("earlier"),
    }


def _artifact_tensor(tensors: dict[str, Any], name: str, scale: float, artifact_dir: Path) -> Any:
    """A trainable parameter's value in an exported artifact (which stores A and scale * B per adapter)."""
    for factor in ("lora_a", "lora_b"):
        if name.endswith(f".{factor}"):
            key = f"{factor}.{name.removesuffix(f'.{factor}')}"
            if key in tensors:
                return tensors[key] / scale if factor == "lora_b" else tensors[key]
            break
    else:
        key = f"full.{name}"
        if key in tensors:
            return tensors[key]
    raise TrainingDataError(f"{artifact_dir}: no tensor for {name}; not an artifact of this model")


def _lr_factor(warmup: int, total: int) -> Callable[[int], float]:
    """Linear warmup over `warmup` steps, then linear decay to zero at `total`."""
    warmup = max(1, warmup)
    decay = max(1, total - warmup)
    return lambda step: min((step + 1) / warmup, max(0.0, (total - step) / decay))


def _train_sitting(run: Run, data_dir: Path, checkpoint_dir: Path, progress: Callable[[str], None]) -> None:
    import torch

    options, state = run.options, run.progress
    subsamples = curve_sets(data_dir, options)
    if not state.curve:
        _add_curve_point(run, subsamples, progress)
    started = last_checkpoint = time.monotonic()
    sitting_steps, sitting_examples, running = 0, 0, 0.0
    run.model.train()
    while state.step < len(run.batches):
        now = time.monotonic()
        if now - started > options.max_minutes * 60 or (options.max_steps and sitting_steps >= options.max_steps):
            progress(f"sitting over at step {state.step} of {len(run.batches)}")
            break
        rows = run.batches[state.step]
        value = _train_step(run, rows, torch)
        running = 0.98 * running + 0.02 * value if sitting_steps else value
        step_seconds = time.monotonic() - now
        state.seconds += step_seconds
        state.step += 1
        sitting_steps += 1
        sitting_examples += len(rows)
        crossed = (state.examples + len(rows)) // options.curve_every > state.examples // options.curve_every
        state.examples += len(rows)
        if state.step % 50 == 0:
            rate = sitting_examples / max(1e-9, time.monotonic() - started)
            progress(
                f"step {state.step}/{len(run.batches)}: {state.examples} examples, "
                f"loss {running:.4f}, {rate:.1f} rows/s"
            )
        if crossed:
            _add_curve_point(run, subsamples, progress)
        if time.monotonic() - last_checkpoint > options.checkpoint_minutes * 60:
            save_checkpoint(run, checkpoint_dir)
            last_checkpoint = time.monotonic()
            progress(f"checkpoint at step {state.step} in {checkpoint_dir}")
    if state.curve[-1]["examples"] != state.examples:
        _add_curve_point(run, subsamples, progress)
    save_checkpoint(run, checkpoint_dir)
    progress(f"checkpoint at step {state.step} of {len(run.batches)} in {checkpoint_dir}")


def _train_step(run: Run, rows: list[int], torch: Any) -> float:
    device = run.options.device
    columns = [k for k, output in enumerate(OUTPUTS) if output not in run.options.unpaired_outputs]
    paired = [k for k, i in enumerate(rows) if i in run.counterfactual] if columns else []
    ids = [run.encoded[i] for i in rows] + [run.counterfactual[rows[k]] for k in paired]
    batch = run.tokenizer.pad({"input_ids": ids}, return_tensors="pt")
    every = run.model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)).logits
    logits = every[: len(rows)]
    targets, masks = run.targets[rows].to(device), run.masks[rows].to(device)
    losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    loss = (losses * masks).sum() / masks.sum().clamp(min=1.0)
    if paired:
        gaps = logits[paired] - every[len(rows) :]
        loss = loss + run.options.counterfactual_weight * gaps[:, columns].abs().mean()
    loss.backward()
    run.optimizer.step()
    run.schedule.step()
    run.optimizer.zero_grad()
    return float(loss.detach())


@dataclass(frozen=True)
class CurveSet:
    family: str
    texts: list[str]
    gold: dict[str, npt.NDArray[np.bool_]]


def curve_sets(data_dir: Path, options: TrainOptions) -> list[CurveSet]:
    """A fixed random subsample of each dev file (the same at every point and in every sitting)."""
    sets = []
    for family, outputs in SUPERVISION.items():
        table = read_table(data_dir, family, "dev")
        chosen = sorted(random.Random(options.seed).sample(range(len(table)), min(options.curve_rows, len(table))))
        targets, _ = label_matrix(table, family)
        gold = {out: targets[chosen, OUTPUTS.index(out)] >= 0.5 for out in outputs}
        sets.append(CurveSet(family, [table.texts[i] for i in chosen], gold))
    return sets


def _add_curve_point(run: Run, sets: list[CurveSet], progress: Callable[[str], None]) -> None:
    from sklearn.metrics import roc_auc_score

    from moderation.scoring.inference import SequenceClassifierRunner

    runner = SequenceClassifierRunner(run.model, run.tokenizer, batch_size=64, max_length=run.options.eval_max_length)
    auc: dict[str, dict[str, float]] = {}
    for dev in sets:
        scores = runner.predict(dev.texts)
        for output, gold in dev.gold.items():
            if 0 < gold.sum() < len(gold):
                value = float(roc_auc_score(gold, scores[:, OUTPUTS.index(output)]))
                auc.setdefault(output, {})[dev.family] = round(value, 4)
    run.model.train()
    point = {"examples": run.progress.examples, "step": run.progress.step, "auc": auc}
    run.progress.curve.append(point)
    shown = ", ".join(f"{out} {np.mean(list(by_family.values())):.4f}" for out, by_family in auc.items())
    progress(f"curve at {run.progress.examples} examples: {shown}")


def save_checkpoint(run: Run, checkpoint_dir: Path) -> None:
    """Write the checkpoint and the curve, each atomically (a kill mid-write leaves the previous one)."""
    import torch

    state = {
        "options": asdict(run.options),
        "progress": asdict(run.progress),
        "trainable": {name: p.detach().cpu() for name, p in run.trainable.items()},
        "optimizer": run.optimizer.state_dict(),
        "schedule": run.schedule.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(checkpoint_dir / CHECKPOINT_FILE, lambda path: torch.save(state, path))
    curve = json.dumps({"options": asdict(run.options), **asdict(run.progress)}, indent=1) + "\n"
    _atomic_write(checkpoint_dir / CURVE_FILE, lambda path: path.write_text(curve, encoding="utf-8"))


def _atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    partial = target.with_name(f".{target.name}.partial")
    write(partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)


def _load_checkpoint(checkpoint_dir: Path) -> dict[str, Any] | None:
    import torch

    path = checkpoint_dir / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        loaded: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign file: say which and what to do
        raise TrainingDataError(f"{path}: unreadable checkpoint ({exc}); delete it to start over") from exc
    return loaded


def _restore(run: Run, saved: dict[str, Any]) -> None:
    import torch

    with torch.no_grad():
        for name, parameter in run.trainable.items():
            parameter.copy_(saved["trainable"][name])
    run.optimizer.load_state_dict(saved["optimizer"])
    run.schedule.load_state_dict(saved["schedule"])
    torch.set_rng_state(saved["torch_rng"])
    if saved["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda_rng"])
    run.progress = Progress(**saved["progress"])


def export_run(run: Run, out_dir: Path, progress: Callable[[str], None]) -> Artifact:
    """Write the shipped artifact (adapter deltas and replaced tensors) and its reference scores."""
    import torch
    import transformers

    from moderation.scoring.inference import SequenceClassifierRunner
    from moderation.training.lora import adapter_deltas

    model = run.model
    runner = SequenceClassifierRunner(model, run.tokenizer, batch_size=64, max_length=run.options.eval_max_length)
    reference = runner.predict(list(REFERENCE_TEXTS))
    state, options = run.progress, run.options
    meta = {
        "labels": list(LABELS),
        "auxiliary": list(AUXILIARY),
        "max_length": options.eval_max_length,
        "base": {
            "package": BASE_PACKAGE,
            "version": version(BASE_PACKAGE),
            "sha256": _sha256(base_model_dir() / "model.safetensors"),
        },
        "lora": {"rank": options.rank, "alpha": options.alpha, "adapted": list(ADAPTED), "replaced": list(REPLACED)},
        "training": {
            "options": {k: v for k, v in asdict(options).items() if k not in SITTING_FIELDS},
            "data": run.data,
            "supervision": {family: {k: list(v) for k, v in outs.items()} for family, outs in SUPERVISION.items()},
            "steps": state.step,
            "planned_steps": len(run.batches),
            "examples_seen": state.examples,
            "epochs_done": round(state.step / max(1, len(run.batches)) * options.epochs, 4),
            "seconds": round(state.seconds, 1),
            "threads": torch.get_num_threads(),
            "device": options.device,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "curve": state.curve,
            "earlier": state.earlier,
        },
    }
    replaced = {name: p for name, p in run.trainable.items() if "lora_" not in name}
    artifact = write_artifact(out_dir, adapter_deltas(model), replaced, meta)
    (out_dir / "reference.json").write_text(
        json.dumps(
            {"texts": list(REFERENCE_TEXTS), "labels": list(OUTPUTS), "scores": reference.round(6).tolist()}, indent=1
        )
        + "\n",
        encoding="utf-8",
    )
    model.train()
    progress(f"wrote {out_dir} ({artifact.version}) at step {state.step}, {state.examples} examples")
    return artifact


def _dev_scores(
    run: Run, data_dir: Path, path: Path, progress: Callable[[str], None]
) -> dict[str, npt.NDArray[np.float32]]:
    """The trained model's scores on every dev file (all outputs), saved to `path`."""
    from moderation.scoring.inference import SequenceClassifierRunner

    runner = SequenceClassifierRunner(run.model, run.tokenizer, batch_size=64, max_length=run.options.eval_max_length)
    scores: dict[str, npt.NDArray[np.float32]] = {}
    for family in SUPERVISION:
        table = read_table(data_dir, family, "dev")
        scores[family] = runner.predict(table.texts)
        progress(f"scored {table.name} ({len(table)} rows) with the trained model")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = dict(scores)
    np.savez_compressed(path, **arrays)
    return scores


def _is_replaced(name: str) -> bool:
    return "lora_" not in name and ".base." not in name and any(part in name for part in REPLACED)


def _length_batches(encoded: list[list[int]], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar-length rows: shuffle, sort within windows of 50 batches, shuffle the batches."""
    rng = random.Random(seed)
    order = list(range(len(encoded)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(encoded[i]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
