"""The fast scorer's artifact: numbers in a .npz (read with allow_pickle=False) and settings in a .json.

Nothing in it executes on load. The files are written byte-for-byte deterministically (fixed zip
timestamps, sorted JSON keys), and the version names a hash of their content, so the same training
inputs give the same files and the same version.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moderation.errors import ScoringError
from moderation.scoring.features import FeatureSpec

MODEL_FAMILY = "fast-1.0"
ARRAYS_FILE = "model.npz"
META_FILE = "model.json"
DEFAULT_MODEL_DIR = Path(__file__).parent / "models" / "fast"
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Calibration:
    """Platt scaling fitted on dev data: probability = sigmoid(slope * logit + offset)."""

    slope: float
    offset: float


@dataclass(frozen=True)
class FastModel:
    labels: tuple[str, ...]
    spec: FeatureSpec
    idf: npt.NDArray[np.float32]
    """Inverse document frequency per column."""
    weights: npt.NDArray[np.float16]
    """(columns, labels): the linear model, stacking already folded in."""
    intercepts: npt.NDArray[np.float32]
    calibration: dict[str, Calibration]
    word_classes: dict[str, str]
    """Words that also count as a class pseudo-word (negative / positive valence)."""
    info: dict[str, Any]
    """Provenance: data files and hashes, training settings, thresholds; not used for scoring."""
    auxiliary: tuple[str, ...] = ()
    """Outputs trained on other data sets' labels (e.g. `attack`), after the labels' columns: read by the
    thread layer, never shown as labels."""

    @property
    def outputs(self) -> tuple[str, ...]:
        """The columns of `weights`: the labels, then the auxiliary outputs."""
        return self.labels + self.auxiliary

    @property
    def version(self) -> str:
        return f"{MODEL_FAMILY}-{self.content_hash()[:8]}"

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for array in (self.idf, self.weights, self.intercepts):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(_json_bytes(self._scoring_meta()))
        return digest.hexdigest()

    def _scoring_meta(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "auxiliary": list(self.auxiliary),
            "features": self.spec.to_json(),
            "calibration": {label: [c.slope, c.offset] for label, c in self.calibration.items()},
            "word_classes": self.word_classes,
        }


def save_model(model: FastModel, directory: Path) -> None:
    """Write model.npz and model.json into `directory` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, npt.NDArray[Any]] = {"idf": model.idf, "weights": model.weights, "intercepts": model.intercepts}
    (directory / ARRAYS_FILE).write_bytes(_npz_bytes(arrays))
    meta = {"format": 1, "version": model.version, **model._scoring_meta(), "info": model.info}
    (directory / META_FILE).write_bytes(_json_bytes(meta, indent=1))


def load_model(directory: Path = DEFAULT_MODEL_DIR) -> FastModel:
    """Read a model written by save_model; no pickle, no code."""
    arrays_path, meta_path = directory / ARRAYS_FILE, directory / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(arrays_path, allow_pickle=False) as arrays:
            idf, weights, intercepts = arrays["idf"], arrays["weights"], arrays["intercepts"]
    except FileNotFoundError as exc:
        raise ScoringError(f"fast model not found in {directory}: rebuild it with `moderation train fast`") from exc
    except (OSError, ValueError, KeyError) as exc:
        raise ScoringError(
            f"fast model in {directory} is unreadable ({exc}): rebuild it with `moderation train fast`"
        ) from exc
    model = FastModel(
        labels=tuple(meta["labels"]),
        spec=FeatureSpec(**meta["features"]),
        idf=idf,
        weights=weights,
        intercepts=intercepts,
        calibration={label: Calibration(*pair) for label, pair in meta["calibration"].items()},
        word_classes=dict(meta["word_classes"]),
        info=meta.get("info", {}),
        auxiliary=tuple(meta.get("auxiliary", [])),
    )
    _check(model, directory, meta.get("version"))
    return model


def _check(model: FastModel, directory: Path, stored_version: str | None) -> None:
    expected = (model.spec.n_features, len(model.outputs))
    if model.weights.shape != expected or model.idf.shape != (model.spec.n_features,):
        raise ScoringError(f"fast model in {directory}: weights {model.weights.shape}, expected {expected}")
    if stored_version != model.version:
        raise ScoringError(
            f"fast model in {directory}: content does not match its version {stored_version!r} "
            f"(computed {model.version!r}); rebuild it with `moderation train fast`"
        )


def _npz_bytes(arrays: dict[str, npt.NDArray[Any]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def _json_bytes(data: Any, indent: int | None = None) -> bytes:
    return (json.dumps(data, sort_keys=True, ensure_ascii=False, indent=indent) + "\n").encode("utf-8")
