"""Detoxify, the real library: a published model by name, or a local checkpoint with no download.

Detoxify loads the model; scoring runs through SequenceClassifierRunner (length-sorted batches,
character cap, inference mode), which gives the scores `Detoxify.predict` gives, faster.
Detoxify checkpoints are pickles, so only files named in the config are ever loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from moderation.config import DetoxifySettings
from moderation.errors import ScoringError
from moderation.models import CommentScore


class DetoxifyScorer:
    name = "detoxify"

    def __init__(self, settings: DetoxifySettings, model: str | None = None) -> None:
        from moderation.scoring.inference import resolve_device

        self.settings = settings
        self.model_type = model or settings.model
        checkpoint = _existing_file(settings.checkpoint, "scoring.detoxify.checkpoint")
        config_path = _existing_dir(settings.huggingface_config_path, "scoring.detoxify.huggingface_config_path")
        self.version = detoxify_version(settings, model)
        detoxify = load_detoxify(self.model_type, checkpoint, config_path, resolve_device(settings.device))
        self.engine = DetoxifyEngine.on_torch(detoxify, settings.batch_size)
        self.labels = self.engine.labels

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        return self.engine.score_texts(texts)


class Runner(Protocol):
    def predict(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


class DetoxifyEngine:
    """A loaded Detoxify model's output names and a runner that scores them (inference.py, or the ONNX export
    of the same model, onnx_runner.py).

    Outputs named in `auxiliary` go to CommentScore.auxiliary, the others to its scores (the labels)."""

    def __init__(self, outputs: Sequence[str], runner: Runner, auxiliary: tuple[str, ...] = ()) -> None:
        self.outputs = tuple(outputs)
        self.labels = tuple(name for name in self.outputs if name not in auxiliary)
        self.auxiliary = tuple(name for name in self.outputs if name in auxiliary)
        self.runner = runner

    @classmethod
    def on_torch(
        cls, detoxify: LoadedDetoxify, batch_size: int, threads: int = 0, auxiliary: tuple[str, ...] = ()
    ) -> DetoxifyEngine:
        from moderation.scoring.inference import SequenceClassifierRunner, use_threads

        use_threads(threads)
        runner = SequenceClassifierRunner(detoxify.model, detoxify.tokenizer, batch_size=batch_size)
        return cls(detoxify.class_names, runner, auxiliary)

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        try:
            scores = self.runner.predict(texts)
        except Exception as exc:  # torch/transformers raise many types; callers need one
            raise ScoringError(f"Detoxify failed on a batch of {len(texts)} comments: {exc}") from exc
        results = []
        for row in scores:
            named = {name: round(float(p), 6) for name, p in zip(self.outputs, row, strict=True)}
            results.append(
                CommentScore(
                    scores={label: named[label] for label in self.labels},
                    auxiliary={task: named[task] for task in self.auxiliary},
                )
            )
        return results


def detoxify_version(settings: DetoxifySettings, model: str | None = None) -> str:
    """The version a DetoxifyScorer with these settings reports, without loading the model."""
    checkpoint = _existing_file(settings.checkpoint, "scoring.detoxify.checkpoint")
    origin = f"{checkpoint.name}@{_file_digest(checkpoint)}" if checkpoint else (model or settings.model)
    return f"detoxify-{_library_version()}:{origin}"


@dataclass(frozen=True)
class LoadedDetoxify:
    model: Any
    tokenizer: Any
    class_names: list[str]


def load_detoxify(model_type: str, checkpoint: Path | None, config_path: Path | None, device: str) -> LoadedDetoxify:
    """Load through Detoxify: `Detoxify(...)` itself, or for a local checkpoint whose recorded base model is
    a hub name (the published ones say `bert-base-uncased`), Detoxify's own model builder pointed at the
    local config folder, since `Detoxify(...)` would fetch that base model's config from the hub first."""
    try:
        import transformers
        from detoxify import Detoxify
    except ImportError as exc:
        raise ScoringError("the detoxify package is not installed: pip install detoxify") from exc
    transformers.utils.logging.disable_progress_bar()  # a per-load progress bar is noise in `moderation score`
    try:
        if checkpoint and config_path and not _base_is_local(checkpoint):
            return _load_with_local_config(checkpoint, config_path, device)
        detoxify = Detoxify(
            model_type=model_type,
            checkpoint=str(checkpoint) if checkpoint else None,
            device=device,
            huggingface_config_path=str(config_path) if config_path else None,
        )
        return LoadedDetoxify(detoxify.model, detoxify.tokenizer, list(detoxify.class_names))
    except Exception as exc:
        hint = (
            "check that the checkpoint is a Detoxify checkpoint and that the config folder holds "
            "its config.json and tokenizer files"
            if checkpoint
            else "this machine must reach the model download, or set scoring.detoxify.checkpoint to a local file"
        )
        raise ScoringError(f"could not load Detoxify model {model_type!r}: {exc}; {hint}") from exc


def _base_is_local(checkpoint: Path) -> bool:
    """Whether the checkpoint names its base model by a local folder (ours do) rather than a hub name."""
    import torch

    try:
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
        return Path(loaded["config"]["arch"]["args"]["model_type"]).is_dir()
    except Exception:  # holds more than tensors, or another layout: the full load decides
        return False


def _load_with_local_config(checkpoint: Path, config_path: Path, device: str) -> LoadedDetoxify:
    import torch
    from detoxify import detoxify as library

    loaded = torch.load(checkpoint, map_location=device, weights_only=False)  # a configured file only
    args = {**loaded["config"]["arch"]["args"], "model_type": str(config_path)}
    model, tokenizer = library.get_model_and_tokenizer(
        **args, state_dict=loaded["state_dict"], huggingface_config_path=str(config_path)
    )
    renamed = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
    class_names = [renamed.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]
    return LoadedDetoxify(model.to(device), tokenizer, class_names)


def _existing_file(path: str | None, key: str) -> Path | None:
    if not path:
        return None
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise ScoringError(f"{key}: no such file {resolved}")
    return resolved


def _existing_dir(path: str | None, key: str) -> Path | None:
    if not path:
        return None
    resolved = Path(path).expanduser()
    if not resolved.is_dir():
        raise ScoringError(f"{key}: no such folder {resolved}")
    return resolved


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def _library_version() -> str:
    from importlib.metadata import version

    return version("detoxify")
