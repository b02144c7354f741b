"""Choosing the cascade's bands on the dev files, under a budget of comments escalated.

The cascade's AUC on a (file, label) task mixes two rankings: the accurate tier's inside the band, the
screen's outside. Starting from "escalate everything" (the cascade then is the accurate tier), each step
narrows one label's band by one grid point at either end, choosing the step that loses least, where loss
is the mean over tasks of how far the cascade's AUC falls below the accurate tier's (a task where the
cascade beats the accurate tier counts as no loss, so a gain on one file cannot hide a loss on another).
The path runs down to "escalate nothing"; the chosen bands are the first point on it within the budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

Scores = npt.NDArray[np.floating]
Band = tuple[float, float]
TaskKey = tuple[str, str]


@dataclass(frozen=True)
class Task:
    """One (file, label) pair with gold labels."""

    family: str
    label: str
    gold: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class PathPoint:
    escalated: float
    shortfall: float
    """Mean over tasks of max(0, accurate AUC - cascade AUC)."""
    worst_gap: float
    mean_gap: float
    bands: dict[str, Band]


@dataclass(frozen=True)
class CascadeResult:
    bands: dict[str, Band]
    escalated: dict[str, float]
    """Fraction escalated per file, and 'all' over every dev row."""
    auc_cascade: dict[TaskKey, float]
    auc_accurate: dict[TaskKey, float]
    auc_screen: dict[TaskKey, float]
    path: list[PathPoint] = field(default_factory=list)


def in_band(screen: Scores, labels: tuple[str, ...], bands: Mapping[str, Band]) -> npt.NDArray[np.bool_]:
    """Rows the cascade escalates: any label's screen score in [low, high) of its band."""
    escalate = np.zeros(len(screen), dtype=bool)
    for label, (low, high) in bands.items():
        column = screen[:, labels.index(label)]
        escalate |= (column >= low) & (column < high)
    return escalate


def evaluate(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    tasks: list[Task],
    bands: Mapping[str, Band],
    path: list[PathPoint] | None = None,
) -> CascadeResult:
    escalated = {family: float(in_band(s, labels, bands).mean()) for family, s in screen.items()}
    escalated["all"] = sum(int(in_band(s, labels, bands).sum()) for s in screen.values()) / sum(
        len(s) for s in screen.values()
    )
    return CascadeResult(
        dict(bands),
        escalated,
        _cascade_aucs(screen, accurate, labels, tasks, bands),
        {_key(t): _auc(t, accurate[t.family], labels) for t in tasks},
        {_key(t): _auc(t, screen[t.family], labels) for t in tasks},
        path or [],
    )


def choose_bands(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    tasks: list[Task],
    max_escalated: float = 0.10,
    grid_points: int = 40,
) -> CascadeResult:
    """The bands at the first point of the least-loss path that escalates at most `max_escalated` of the rows."""
    path = band_path(screen, accurate, labels, tasks, grid_points)
    chosen = next(point for point in path if point.escalated <= max_escalated + 1e-12)
    return evaluate(screen, accurate, labels, tasks, chosen.bands, path)


def band_path(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    tasks: list[Task],
    grid_points: int = 40,
) -> list[PathPoint]:
    """From escalating everything to escalating nothing, one least-loss narrowing at a time."""
    everything = np.concatenate(list(screen.values()))
    grids = {
        label: np.unique(np.quantile(everything[:, labels.index(label)], np.linspace(0, 1, grid_points + 1)))
        for label in labels
    }
    accurate_auc = {_key(t): _auc(t, accurate[t.family], labels) for t in tasks}
    total = len(everything)

    def bands_of(ends: Mapping[str, tuple[int, int]]) -> dict[str, Band]:
        return {
            label: (float(grids[label][low]), 1.0 if high == len(grids[label]) else float(grids[label][high]))
            for label, (low, high) in ends.items()
            if low < high
        }

    def point(ends: Mapping[str, tuple[int, int]]) -> PathPoint:
        bands = bands_of(ends)
        gaps = [auc - accurate_auc[key] for key, auc in _cascade_aucs(screen, accurate, labels, tasks, bands).items()]
        escalated = sum(int(in_band(s, labels, bands).sum()) for s in screen.values()) / total
        shortfall = float(np.mean([max(0.0, -gap) for gap in gaps]))
        return PathPoint(escalated, shortfall, min(gaps), float(np.mean(gaps)), bands)

    ends = {label: (0, len(grid)) for label, grid in grids.items()}
    path = [point(ends)]
    while True:
        candidates = []
        for label, (low, high) in ends.items():
            for narrower in ((low + 1, high), (low, high - 1)):
                if narrower[0] <= narrower[1]:
                    moved = {**ends, label: narrower}
                    candidate = point(moved)
                    if candidate.escalated <= path[-1].escalated:
                        candidates.append((candidate.shortfall, candidate.escalated, moved, candidate))
        if not candidates:
            return path
        _, _, ends, best = min(candidates, key=lambda c: (c[0], c[1]))
        path.append(best)


def _cascade_aucs(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    tasks: list[Task],
    bands: Mapping[str, Band],
) -> dict[TaskKey, float]:
    result = {}
    for task in tasks:
        k = labels.index(task.label)
        mask = in_band(screen[task.family], labels, bands)
        mixed = np.where(mask, accurate[task.family][:, k], screen[task.family][:, k])
        result[_key(task)] = float(roc_auc_score(task.gold, mixed))
    return result


def _auc(task: Task, scores: Scores, labels: tuple[str, ...]) -> float:
    return float(roc_auc_score(task.gold, scores[:, labels.index(task.label)]))


def _key(task: Task) -> TaskKey:
    return (task.family, task.label)
