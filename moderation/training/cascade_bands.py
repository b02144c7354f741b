"""Choosing the cascade's bands on the dev files: escalate as few comments as possible while every
(file, label) AUC of the cascade stays within a tolerance of the accurate tier's AUC alone.

Greedy from "escalate everything" (the cascade then is the accurate tier): each step narrows one label's
band by one grid point at either end, taking the step that escalates fewest comments and keeps every
AUC within the tolerance, until no step is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

Scores = npt.NDArray[np.floating]
Band = tuple[float, float]


@dataclass(frozen=True)
class Task:
    """One (file, label) pair with gold labels: a constraint on the bands."""

    family: str
    label: str
    gold: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CascadeResult:
    bands: dict[str, Band]
    escalated: dict[str, float]
    """Fraction escalated per file, and 'all' over every dev row."""
    auc_cascade: dict[tuple[str, str], float]
    auc_accurate: dict[tuple[str, str], float]
    auc_screen: dict[tuple[str, str], float]


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
) -> CascadeResult:
    auc_cascade, auc_accurate, auc_screen, escalated = {}, {}, {}, {}
    total = 0
    for family in screen:
        mask = in_band(screen[family], labels, bands)
        escalated[family] = float(mask.mean())
        total += int(mask.sum())
    escalated["all"] = total / sum(len(s) for s in screen.values())
    for task in tasks:
        k = labels.index(task.label)
        mask = in_band(screen[task.family], labels, bands)
        mixed = np.where(mask, accurate[task.family][:, k], screen[task.family][:, k])
        key = (task.family, task.label)
        auc_cascade[key] = float(roc_auc_score(task.gold, mixed))
        auc_accurate[key] = float(roc_auc_score(task.gold, accurate[task.family][:, k]))
        auc_screen[key] = float(roc_auc_score(task.gold, screen[task.family][:, k]))
    return CascadeResult(dict(bands), escalated, auc_cascade, auc_accurate, auc_screen)


def choose_bands(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    tasks: list[Task],
    tolerance: float = 0.004,
    grid_points: int = 40,
) -> CascadeResult:
    """The narrowest bands (fewest dev rows escalated) that keep every task's AUC within `tolerance`."""
    everything = np.concatenate([screen[f] for f in screen])
    grids = {
        label: np.unique(np.quantile(everything[:, labels.index(label)], np.linspace(0, 1, grid_points + 1)))
        for label in {task.label for task in tasks}
    }
    # Band ends are indices into the label's grid; high index len(grid) means "above every score".
    ends = {label: (0, len(grid)) for label, grid in grids.items()}
    state = _Search(screen, accurate, labels, tasks, tolerance, grids)
    best = state.escalated(ends)
    while True:
        moves = []
        for label, (low, high) in ends.items():
            for candidate in ((low + 1, high), (low, high - 1)):
                if candidate[0] <= candidate[1]:
                    moves.append({**ends, label: candidate})
        scored = sorted((state.escalated(move), i) for i, move in enumerate(moves))
        chosen = next((moves[i] for count, i in scored if count <= best and state.allowed(moves[i])), None)
        if chosen is None:
            break
        ends, best = chosen, state.escalated(chosen)
    return evaluate(screen, accurate, labels, tasks, state.bands(ends))


class _Search:
    def __init__(
        self,
        screen: Mapping[str, Scores],
        accurate: Mapping[str, Scores],
        labels: tuple[str, ...],
        tasks: list[Task],
        tolerance: float,
        grids: dict[str, npt.NDArray[np.floating]],
    ) -> None:
        self.screen, self.accurate, self.labels, self.tasks = screen, accurate, labels, tasks
        self.grids = grids
        self.floors = {
            (t.family, t.label): float(roc_auc_score(t.gold, accurate[t.family][:, labels.index(t.label)])) - tolerance
            for t in tasks
        }

    def bands(self, ends: Mapping[str, tuple[int, int]]) -> dict[str, Band]:
        result = {}
        for label, (low, high) in ends.items():
            if low == high:
                continue
            grid = self.grids[label]
            result[label] = (float(grid[low]), 1.0 if high == len(grid) else float(grid[high]))
        return result

    def escalated(self, ends: Mapping[str, tuple[int, int]]) -> int:
        bands = self.bands(ends)
        return sum(int(in_band(s, self.labels, bands).sum()) for s in self.screen.values())

    def allowed(self, ends: Mapping[str, tuple[int, int]]) -> bool:
        bands = self.bands(ends)
        for task in self.tasks:
            k = self.labels.index(task.label)
            mask = in_band(self.screen[task.family], self.labels, bands)
            mixed = np.where(mask, self.accurate[task.family][:, k], self.screen[task.family][:, k])
            if roc_auc_score(task.gold, mixed) < self.floors[(task.family, task.label)]:
                return False
        return True
