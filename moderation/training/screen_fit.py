"""Fitting the cascade's screen to the accurate tier (what it is: moderation/scoring/screen_fit.py).

Per label, a logistic regression from the logits of all the screen's outputs to the accurate tier's
calibrated score, used as a soft target (each row counts as a positive with weight p and as a negative with
weight 1 - p). Fitted on train rows only: the bands are then chosen and measured on dev rows the fit never saw.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from moderation.scoring.protocols import TextScorer
from moderation.scoring.screen_fit import ScreenFit, outputs_of, screen_logits
from moderation.training.accurate import SUPERVISION
from moderation.training.data import read_table

# Nine inputs and thousands of rows: barely any regularisation is needed; this keeps the weights finite.
FIT_C = 1.0


def train_texts(data_dir: Path, rows_per_file: int) -> dict[str, list[str]]:
    """A fixed random sample (seed 0) of `rows_per_file` rows of every train file the models learn from."""
    texts = {}
    for family in SUPERVISION:
        table = read_table(data_dir, family, "train")
        rows = sorted(random.Random(0).sample(range(len(table)), min(rows_per_file, len(table))))
        texts[family] = [table.texts[i] for i in rows]
    return texts


def screen_inputs(screen: TextScorer) -> tuple[str, ...]:
    """What a fit reads of the screen: its labels, then its auxiliary outputs (if it has any)."""
    return screen.labels + tuple(getattr(screen, "auxiliary", ()))


def screen_outputs(screen: TextScorer, texts: list[str], inputs: tuple[str, ...]) -> npt.NDArray[np.float64]:
    """(texts, inputs) the screen's scores as its results carry them (rounded), labels then auxiliary outputs."""
    return outputs_of(screen.score_texts(texts), inputs)


def fit_screen(
    outputs: npt.NDArray[np.float64],
    accurate: npt.NDArray[np.float64],
    *,
    inputs: tuple[str, ...],
    labels: tuple[str, ...],
    screen: str,
    accurate_tier: str,
    provenance: dict[str, Any],
) -> ScreenFit:
    """`outputs` (rows, inputs) of the screen; `accurate` (rows, labels) the accurate tier's scores."""
    x = screen_logits(outputs)
    doubled = np.vstack([x, x])
    targets = np.r_[np.ones(len(x)), np.zeros(len(x))]
    weights, intercepts = {}, {}
    for k, label in enumerate(labels):
        p = np.clip(accurate[:, k], 0.0, 1.0)
        model = LogisticRegression(C=FIT_C, max_iter=5000).fit(doubled, targets, sample_weight=np.r_[p, 1 - p])
        weights[label] = tuple(round(float(w), 6) for w in model.coef_[0])
        intercepts[label] = round(float(model.intercept_[0]), 6)
    return ScreenFit(screen, accurate_tier, inputs, weights, intercepts, provenance)
