"""`moderation train accurate`: fine-tune the MiniLM encoder with low-rank adapters and a multi-label head.

Multi-task with masked losses: each file family supervises only the labels it has (Jigsaw and the
Wikipedia set say nothing about insults, so a Jigsaw row adds no insult loss). Targets are the
annotator fractions (soft labels); evaluation counts a row positive at >= 0.5, as the data README says.
Only `*.train.csv` is read for fitting; the dev files are scored once at the end, for the report.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moderation.scoring.accurate_artifact import BASE_PACKAGE, Artifact, base_model_dir, write_artifact
from moderation.training.data import DEFAULT_DATA_DIR, LABEL_SOURCES, Table, read_table

__all__ = ["DEFAULT_DATA_DIR", "LABELS", "SUPERVISION", "TrainOptions", "label_matrix", "train_accurate"]

# The fast scorer's labels and label sources (moderation/training/data.py), so the cascade's tiers agree.
LABELS = tuple(LABEL_SOURCES)
# The same mapping by file: which columns of which file family give a label (summed).
SUPERVISION: dict[str, dict[str, tuple[str, ...]]] = {}
for _label, _sources in LABEL_SOURCES.items():
    for _source in _sources:
        SUPERVISION.setdefault(_source.family, {})[_label] = _source.columns
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
    "You are a pathetic loser and everyone here knows it. " * 40,
)


@dataclass(frozen=True)
class TrainOptions:
    per_family: int = 1600
    """Training rows drawn at random from each file family (its whole file if smaller)."""
    max_length: int = 64
    """Tokens per training text."""
    eval_max_length: int = 128
    """Tokens per text at inference (the shipped model's max length)."""
    batch_size: int = 32
    epochs: int = 1
    learning_rate: float = 2e-3
    warmup: float = 0.1
    rank: int = 8
    alpha: float = 16.0
    seed: int = 0
    max_minutes: float = 15.0
    """Training stops here even if the epochs are not done (recorded in model.json)."""
    threads: int = 0


@dataclass
class Examples:
    texts: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    targets: list[list[float]] = field(default_factory=list)
    masks: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class TrainResult:
    artifact: Artifact
    steps: int
    seconds: float
    dev_scores: dict[str, npt.NDArray[np.float32]]


def label_matrix(table: Table, family: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """(targets, mask), each (rows, LABELS): soft targets in 0..1, mask 1 where the family gives the label."""
    targets = np.zeros((len(table), len(LABELS)), dtype=np.float32)
    mask = np.zeros_like(targets)
    for label, columns in SUPERVISION[family].items():
        k = LABELS.index(label)
        targets[:, k] = np.clip(np.sum([table.columns[c] for c in columns], axis=0), 0.0, 1.0)
        mask[:, k] = 1.0
    return targets, mask


def training_examples(data_dir: Path, options: TrainOptions) -> tuple[Examples, dict[str, Any]]:
    rng = random.Random(options.seed)
    examples, described = Examples(), {}
    for family in SUPERVISION:
        table = read_table(data_dir, family, "train")
        chosen = sorted(rng.sample(range(len(table)), min(options.per_family, len(table))))
        all_targets, mask = label_matrix(table, family)
        targets = all_targets[chosen]
        examples.texts += [table.texts[i] for i in chosen]
        examples.families += [family] * len(chosen)
        examples.targets += targets.tolist()
        examples.masks += mask[chosen].tolist()
        described[f"{table.name}.csv"] = {
            "sha256": table.sha256,
            "rows": len(table),
            "used": len(chosen),
            "positives": {label: int((targets[:, LABELS.index(label)] >= 0.5).sum()) for label in SUPERVISION[family]},
        }
    return examples, described


def train_accurate(
    data_dir: Path,
    out_dir: Path,
    options: TrainOptions = TrainOptions(),
    *,
    dev_scores_path: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> TrainResult:
    """Fine-tune, write the artifact to `out_dir`, and (if asked) the dev scores of the trained model."""
    import torch
    import transformers

    from moderation.scoring.inference import SequenceClassifierRunner, use_threads
    from moderation.training.lora import adapter_deltas, add_adapters

    use_threads(options.threads)
    torch.manual_seed(options.seed)
    examples, data = training_examples(data_dir, options)
    progress(f"{len(examples.texts)} training rows from {len(data)} files")
    base = base_model_dir()
    tokenizer = transformers.BertTokenizer.from_pretrained(base)
    config = transformers.BertConfig.from_pretrained(base, num_labels=len(LABELS))
    model = transformers.BertForSequenceClassification.from_pretrained(base, config=config)
    for parameter in model.parameters():
        parameter.requires_grad = False
    add_adapters(model, ADAPTED, options.rank, options.alpha)
    replaced = [name for name, _ in model.named_parameters() if _is_replaced(name)]
    for name, parameter in model.named_parameters():
        parameter.requires_grad = "lora_" in name or name in replaced
    trainable = [p for p in model.parameters() if p.requires_grad]

    encoded = tokenizer(examples.texts, truncation=True, max_length=options.max_length)["input_ids"]
    batches = [b for _ in range(options.epochs) for b in _length_batches(encoded, options.batch_size, options.seed + _)]
    optimizer = torch.optim.AdamW(trainable, lr=options.learning_rate, weight_decay=0.0)
    warmup = max(1, int(options.warmup * len(batches)))
    decay = max(1, len(batches) - warmup)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (len(batches) - step) / decay))
    )
    targets, masks = torch.tensor(examples.targets), torch.tensor(examples.masks)
    model.train()
    started, steps, running = time.monotonic(), 0, 0.0
    for rows in batches:
        if time.monotonic() - started > options.max_minutes * 60:
            progress(f"time budget of {options.max_minutes} minutes reached at step {steps} of {len(batches)}")
            break
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in rows]}, return_tensors="pt")
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets[rows], reduction="none")
        loss = (losses * masks[rows]).sum() / masks[rows].sum().clamp(min=1.0)
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        steps += 1
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if steps > 1 else value
        if steps % 20 == 0:
            progress(f"step {steps}/{len(batches)}: loss {running:.4f}, {time.monotonic() - started:.0f} s")
    seconds = time.monotonic() - started
    model.eval()

    runner = SequenceClassifierRunner(model, tokenizer, batch_size=64, max_length=options.eval_max_length)
    reference = runner.predict(list(REFERENCE_TEXTS))
    parameters = dict(model.named_parameters())
    meta = {
        "labels": list(LABELS),
        "max_length": options.eval_max_length,
        "base": {
            "package": BASE_PACKAGE,
            "version": version(BASE_PACKAGE),
            "sha256": _sha256(base / "model.safetensors"),
        },
        "lora": {"rank": options.rank, "alpha": options.alpha, "adapted": list(ADAPTED), "replaced": list(REPLACED)},
        "training": {
            "options": asdict(options),
            "data": data,
            "supervision": {family: {k: list(v) for k, v in labels.items()} for family, labels in SUPERVISION.items()},
            "steps": steps,
            "planned_steps": len(batches),
            "examples_seen": sum(len(rows) for rows in batches[:steps]),
            "seconds": round(seconds, 1),
            "threads": torch.get_num_threads(),
            "device": "cpu",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
    }
    artifact = write_artifact(out_dir, adapter_deltas(model), {n: parameters[n] for n in replaced}, meta)
    (out_dir / "reference.json").write_text(
        json.dumps(
            {"texts": list(REFERENCE_TEXTS), "labels": list(LABELS), "scores": reference.round(6).tolist()}, indent=1
        )
        + "\n",
        encoding="utf-8",
    )
    progress(f"wrote {out_dir} ({artifact.version}) after {steps} steps in {seconds:.0f} s")
    dev_scores: dict[str, npt.NDArray[np.float32]] = {}
    if dev_scores_path is not None:
        for family in SUPERVISION:
            table = read_table(data_dir, family, "dev")
            dev_scores[family] = runner.predict(table.texts)
            progress(f"scored {table.name} ({len(table)} rows) with the trained model")
        dev_scores_path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = dict(dev_scores)
        np.savez_compressed(dev_scores_path, **arrays)
    return TrainResult(artifact, steps, seconds, dev_scores)


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
