"""The accurate tier's calibration: a blend with the fast model where the fast model adds to it."""

from __future__ import annotations

import numpy as np

from moderation.training.accurate_calibration import fit_blend
from moderation.training.fast import DevRows


def _rows(seed: int = 0, n: int = 4000) -> tuple[DevRows, np.random.Generator]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.3
    model = np.where(truth, 1.5, -1.5) + rng.normal(0, 1.5, n)
    return DevRows(scores=model, truth=truth, weights=np.ones(n)), rng


def test_a_fast_model_that_adds_signal_gets_a_positive_weight() -> None:
    rows, rng = _rows()
    fast = np.where(rows.truth, 1.0, -1.0) + rng.normal(0, 1.5, len(rows.truth))  # errs apart from the model
    slope, _, fast_slope = fit_blend(rows, fast)
    assert slope > 0 and fast_slope > 0


def test_a_fast_model_that_would_get_a_negative_weight_is_left_out() -> None:
    rows, rng = _rows()
    # The fast logit repeats the model's, minus a little of the truth: alone it ranks well, beside the model
    # a regression gives it a negative weight.
    fast = rows.scores - 0.5 * rows.truth + rng.normal(0, 0.1, len(rows.truth))
    assert fit_blend(rows, fast) == fit_blend(rows, None)
    slope, _, fast_slope = fit_blend(rows, fast)
    assert slope > 0 and fast_slope == 0
