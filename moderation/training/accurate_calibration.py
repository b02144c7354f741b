"""Per-label calibration of the accurate tier, blended with the fast tier.

Each label's score is `sigmoid(slope * logit(MiniLM) + fast_slope * logit(fast) + offset)`: a logistic
regression on the two models' logits, fitted on that label's dev rows reweighted to natural prevalence
(moderation/training/data.py), as the fast tier's Platt scaling is. Two reasons. A score of 0.8 then means
about 80% of such comments carry the label for both tiers, so one set of `policy.thresholds` (chosen for a
stated precision) fits whichever tier scored a comment, the cascade included. And the two models err on
different comments: on the Jigsaw six-label dev file the blend ranks better than either alone for every
label (reports/accurate-model.md), most of all for `threat`, which the undertrained MiniLM has seen few
examples of while the fast model, trained on every row, catches (0.954 vs 0.994 AUC).

The fit is stored in the artifact's model.json (`calibration`: label -> [slope, offset, fast_slope];
`blend.fast`: the version of the shipped fast model it was fitted with, which the scorer checks);
`--no-blend` fits Platt scaling of the MiniLM alone (fast_slope 0). Auxiliary outputs stay as the model
gives them (they are never thresholded).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from moderation.config import AccurateSettings
from moderation.scoring.accurate import AccurateScorer, logit
from moderation.scoring.accurate_artifact import read_artifact
from moderation.scoring.fast import FastScorer
from moderation.training.data import CALIBRATION_SOURCES, Table, read_table
from moderation.training.fast import DevRows, calibration_rows


def calibrate_accurate(
    data_dir: Path, model_dir: Path, progress: Callable[[str], None], *, blend: bool = True
) -> dict[str, list[float]]:
    """Fit and store the calibration of the artifact in `model_dir` (its version changes with it)."""
    artifact = read_artifact(model_dir)
    scorer = AccurateScorer(AccurateSettings(model_dir=str(model_dir)))
    fast = FastScorer()
    families = sorted({source.family for label in artifact.labels for source in CALIBRATION_SOURCES[label]})
    tables: dict[str, Table] = {family: read_table(data_dir, family, "dev") for family in families}
    model_logits: dict[str, npt.NDArray[np.float64]] = {}
    fast_logits: dict[str, npt.NDArray[np.float64]] = {}
    fast_columns = [fast.labels.index(label) for label in artifact.labels]
    for family, table in tables.items():
        progress(f"scoring {table.name} ({len(table)} rows) with {artifact.version}, uncalibrated, and {fast.version}")
        raw = np.array([[r.scores[label] for label in artifact.labels] for r in scorer.model_scores(table.texts)])
        model_logits[family] = logit(raw)
        fast_logits[family] = logit(fast.probabilities(table.texts)[:, fast_columns])
    calibration = {}
    for k, label in enumerate(artifact.labels):
        sources = CALIBRATION_SOURCES[label]
        model_rows = calibration_rows(model_logits, tables, k, sources)
        fast_rows = calibration_rows(fast_logits, tables, k, sources)
        calibration[label] = fit_blend(model_rows, fast_rows.scores if blend else None)
    meta_path = model_dir / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["calibration"] = calibration
    meta["blend"] = {"fast": fast.version} if blend else {}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    progress(f"calibrated {', '.join(artifact.labels)}: {read_artifact(model_dir).version}")
    return calibration


def fit_blend(model: DevRows, fast_logits: npt.NDArray[np.float64] | None) -> list[float]:
    """[slope, offset, fast_slope] of a weighted logistic regression on the logits (fast_slope 0 without).

    Where the fit gives the fast model a weight at or below 0 (it adds nothing the MiniLM does not say), the
    label is calibrated on the MiniLM alone: a label's score never falls as the fast model's rises."""
    features = model.scores.reshape(-1, 1) if fast_logits is None else np.column_stack([model.scores, fast_logits])
    fitted = LogisticRegression(C=1e4, solver="lbfgs")
    fitted.fit(features, model.truth, sample_weight=model.weights)
    fast_slope = float(fitted.coef_[0, 1]) if fast_logits is not None else 0.0
    if fast_logits is not None and round(fast_slope, 6) <= 0:
        return fit_blend(model, None)
    return [round(float(fitted.coef_[0, 0]), 6), round(float(fitted.intercept_[0]), 6), round(fast_slope, 6)]
