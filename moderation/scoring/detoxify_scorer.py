"""Detoxify, the real library: a published model by name, or a local checkpoint with no download.

Detoxify checkpoints are pickles, so only files named in the config are ever loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from moderation.config import DetoxifySettings
from moderation.errors import ScoringError
from moderation.models import CommentScore

# Tokenisation cost grows with text length; the model only sees its first few hundred tokens anyway.
MAX_CHARS = 4000


class DetoxifyScorer:
    name = "detoxify"

    def __init__(self, settings: DetoxifySettings, model: str | None = None) -> None:
        self.settings = settings
        self.model_type = model or settings.model
        checkpoint = _existing_file(settings.checkpoint, "scoring.detoxify.checkpoint")
        config_path = _existing_dir(settings.huggingface_config_path, "scoring.detoxify.huggingface_config_path")
        self._detoxify = _load(self.model_type, checkpoint, config_path, settings.device)
        self.labels = tuple(self._detoxify.class_names)
        origin = f"{checkpoint.name}@{_file_digest(checkpoint)}" if checkpoint else self.model_type
        self.version = f"detoxify-{_library_version()}:{origin}"

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        results: list[CommentScore] = []
        size = self.settings.batch_size
        for start in range(0, len(texts), size):
            chunk = [text[:MAX_CHARS] for text in texts[start : start + size]]
            results.extend(self._predict(chunk))
        return results

    def _predict(self, texts: list[str]) -> list[CommentScore]:
        try:
            predicted: dict[str, Any] = self._detoxify.predict(texts)
        except Exception as exc:  # torch/transformers raise many types; callers need one
            raise ScoringError(f"Detoxify failed on a batch of {len(texts)} comments: {exc}") from exc
        columns = {label: values if isinstance(values, list) else [values] for label, values in predicted.items()}
        return [
            CommentScore(scores={label: round(float(values[i]), 6) for label, values in columns.items()})
            for i in range(len(texts))
        ]


def _load(model_type: str, checkpoint: Path | None, config_path: Path | None, device: str) -> Any:
    try:
        from detoxify import Detoxify
    except ImportError as exc:
        raise ScoringError("the detoxify package is not installed: pip install detoxify") from exc
    try:
        return Detoxify(
            model_type=model_type,
            checkpoint=str(checkpoint) if checkpoint else None,
            device=device,
            huggingface_config_path=str(config_path) if config_path else None,
        )
    except Exception as exc:
        hint = (
            "check that the checkpoint is a Detoxify checkpoint and that the config folder holds "
            "its config.json and tokenizer files"
            if checkpoint
            else "this machine must reach the model download, or set scoring.detoxify.checkpoint to a local file"
        )
        raise ScoringError(f"could not load Detoxify model {model_type!r}: {exc}; {hint}") from exc


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
