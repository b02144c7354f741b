"""Per-label calibration of the accurate tier, as the fast tier's: Platt scaling on each label's dev rows,
reweighted to natural prevalence (moderation/training/data.py). A score of 0.8 then means about 80% of
such comments carry the label for both tiers, so one set of `policy.thresholds` (chosen for a stated
precision) fits whichever tier scored a comment, the cascade included.

The fit is stored in the artifact's model.json (`calibration`: label -> [slope, offset] on the logit);
the AccurateScorer applies it. Auxiliary outputs stay as the model gives them (they are never thresholded).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from moderation.config import AccurateSettings
from moderation.scoring.accurate import AccurateScorer
from moderation.scoring.accurate_artifact import read_artifact
from moderation.training.data import CALIBRATION_SOURCES, Table, read_table
from moderation.training.fast import calibration_rows, fit_platt

EPSILON = 1e-6
"""As in scoring/accurate.py's `platt`: the logit is taken of probabilities clipped this far from 0 and 1."""


def calibrate_accurate(data_dir: Path, model_dir: Path, progress: Callable[[str], None]) -> dict[str, list[float]]:
    """Fit and store the calibration of the artifact in `model_dir` (its version changes with it)."""
    artifact = read_artifact(model_dir)
    scorer = AccurateScorer(AccurateSettings(model_dir=str(model_dir)))
    families = sorted({source.family for label in artifact.labels for source in CALIBRATION_SOURCES[label]})
    tables: dict[str, Table] = {family: read_table(data_dir, family, "dev") for family in families}
    logits: dict[str, npt.NDArray[np.float64]] = {}
    for family, table in tables.items():
        progress(f"scoring {table.name} ({len(table)} rows) with {artifact.version}, uncalibrated")
        raw = np.array([[r.scores[label] for label in artifact.labels] for r in scorer.model_scores(table.texts)])
        logits[family] = logit(raw)
    calibration = {}
    for k, label in enumerate(artifact.labels):
        fitted = fit_platt(calibration_rows(logits, tables, k, CALIBRATION_SOURCES[label]))
        calibration[label] = [fitted.slope, fitted.offset]
    meta_path = model_dir / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["calibration"] = calibration
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    progress(f"calibrated {', '.join(artifact.labels)}: {read_artifact(model_dir).version}")
    return calibration


def logit(probabilities: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    clipped = np.clip(probabilities, EPSILON, 1 - EPSILON)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)
