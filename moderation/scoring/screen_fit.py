"""The cascade's screen, refitted to say what the accurate tier would score.

The fast model's labels are fitted to human labels. The cascade asks its screen a different question:
would the accurate tier flag this comment? `moderation train cascade` fits, per label, a logistic
regression from all the screen's outputs (its labels and auxiliary outputs, as logits) to the accurate
tier's score on train rows (moderation/training/screen_fit.py), and the cascade's bands are chosen on, and
applied to, these refitted scores. A comment that is not escalated shows them: the screen's estimate of the
accurate tier's score. On held-out dev rows the refit escalates fewer comments for the same decisions
(reports/cascade.md).

A fit belongs to one pair of models (the screen's and the accurate tier's versions): with any other pair it
is refused at load, as a stale calibration would give wrong scores silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moderation.errors import ScoringError
from moderation.models import CommentScore

DEFAULT_FIT_PATH = Path(__file__).parent / "models" / "cascade" / "screen-fit.json"
# Screen scores are rounded to 4 decimals: clip their logits there, in fitting and in use alike.
SCORE_FLOOR = 1e-4


@dataclass(frozen=True)
class ScreenFit:
    screen: str
    """`<name>/<version>` of the screen whose outputs this fit reads."""
    accurate: str
    """`<name>/<version>` of the accurate tier whose scores it was fitted to."""
    inputs: tuple[str, ...]
    """The screen's outputs it reads (labels, then auxiliary outputs), in the order of each weight row."""
    weights: dict[str, tuple[float, ...]]
    """Per label it gives: one weight per input logit."""
    intercepts: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.weights)

    @property
    def digest(self) -> str:
        """A short stable name for the fit, part of the cascade's version."""
        canonical = json.dumps([self.screen, self.accurate, self.inputs, self.weights, self.intercepts], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:8]

    def refit(self, outputs: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """(comments, labels) refitted scores from (comments, inputs) screen outputs, rounded as scores are."""
        z = screen_logits(outputs) @ np.array([self.weights[label] for label in self.labels]).T
        z += np.array([self.intercepts[label] for label in self.labels])
        return np.round(1.0 / (1.0 + np.exp(-z)), 4)

    def apply(self, scores: list[CommentScore]) -> list[CommentScore]:
        """The screen's results with the fitted labels' scores replaced by their refitted scores."""
        if not scores:
            return scores
        refitted = self.refit(outputs_of(scores, self.inputs)).tolist()
        return [
            replace(score, scores={**score.scores, **dict(zip(self.labels, row, strict=True))})
            for score, row in zip(scores, refitted, strict=True)
        ]

    def check_tiers(self, screen: str, accurate: str) -> None:
        if (screen, accurate) != (self.screen, self.accurate):
            raise ScoringError(
                f"scoring.cascade.screen_fit: fitted for {self.screen} > {self.accurate}, but the cascade's tiers are "
                f"{screen} > {accurate}; run `moderation train cascade --write-config` to fit them again"
            )


def screen_logits(outputs: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    p = np.clip(np.asarray(outputs, dtype=np.float64), SCORE_FLOOR, 1 - SCORE_FLOOR)
    return np.asarray(np.log(p / (1 - p)), dtype=np.float64)


def outputs_of(scores: list[CommentScore], inputs: tuple[str, ...]) -> npt.NDArray[np.float64]:
    """(comments, inputs) the screen's outputs as its results carry them: label scores, then auxiliary outputs."""
    return np.array([[_output(score, name) for name in inputs] for score in scores], dtype=np.float64).reshape(
        len(scores), len(inputs)
    )


def _output(score: CommentScore, name: str) -> float:
    value = score.scores.get(name, score.auxiliary.get(name))
    if value is None:
        raise ScoringError(f"scoring.cascade.screen_fit: the screen gave no output {name!r}, which the fit reads")
    return value


def read_fit(path: Path) -> ScreenFit:
    try:
        raw: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        fit = ScreenFit(
            screen=str(raw["screen"]),
            accurate=str(raw["accurate"]),
            inputs=tuple(str(name) for name in raw["inputs"]),
            weights={label: tuple(float(w) for w in row) for label, row in raw["weights"].items()},
            intercepts={label: float(b) for label, b in raw["intercepts"].items()},
            provenance=dict(raw.get("provenance", {})),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ScoringError(f"scoring.cascade.screen_fit: cannot read {path}: {exc}") from exc
    uneven = [label for label, row in fit.weights.items() if len(row) != len(fit.inputs)]
    if uneven or set(fit.intercepts) != set(fit.weights):
        raise ScoringError(
            f"scoring.cascade.screen_fit: {path} is inconsistent: every label needs one weight per input "
            f"({len(fit.inputs)}) and an intercept"
        )
    return fit


def write_fit(fit: ScreenFit, path: Path) -> None:
    """Write `fit` to `path` whole or not at all."""
    payload = {
        "screen": fit.screen,
        "accurate": fit.accurate,
        "inputs": list(fit.inputs),
        "weights": {label: [round(w, 6) for w in row] for label, row in fit.weights.items()},
        "intercepts": {label: round(b, 6) for label, b in fit.intercepts.items()},
        "provenance": fit.provenance,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, building = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out, indent=1)
            out.write("\n")
        os.replace(building, path)
    except OSError as exc:
        raise ScoringError(f"scoring.cascade.screen_fit: cannot write {path}: {exc}") from exc
