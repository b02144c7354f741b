"""Choosing the cascade's bands on the dev files, under a budget of comments escalated.

The cascade's AUC on a (file, label) task mixes two rankings: the accurate tier's inside the band, the
screen's outside. Starting from "escalate nothing" (the cascade then is the screen alone), each step
either opens a one-cell band for a label that has none (cells: 40 quantiles of the screen's scores) or
widens a label's band by one cell, whichever removes the most loss per comment added. The loss is the
mean over tasks of how far the cascade's AUC falls below the accurate tier's alone; a task where the
cascade beats the accurate tier counts as no loss, so a gain on one file cannot hide a loss on another.
The chosen bands are the last point of that path within the budget. Chosen on dev data, so the report
also chooses on one half of every dev file and measures on the other.
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
    path_limit: float = 0.6,
) -> CascadeResult:
    """The bands at the last point of the path that escalates at most `max_escalated` of the rows."""
    path = band_path(screen, accurate, labels, tasks, grid_points, max(path_limit, max_escalated))
    chosen = [point for point in path if point.escalated <= max_escalated + 1e-12][-1]
    return evaluate(screen, accurate, labels, tasks, chosen.bands, path)


def band_path(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    tasks: list[Task],
    grid_points: int = 40,
    limit: float = 0.6,
) -> list[PathPoint]:
    """From escalating nothing up to `limit`: each step the band change that removes most loss per row added."""
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
        }

    def point(ends: Mapping[str, tuple[int, int]]) -> PathPoint:
        bands = bands_of(ends)
        gaps = [auc - accurate_auc[key] for key, auc in _cascade_aucs(screen, accurate, labels, tasks, bands).items()]
        escalated = sum(int(in_band(s, labels, bands).sum()) for s in screen.values()) / total
        shortfall = float(np.mean([max(0.0, -gap) for gap in gaps]))
        return PathPoint(escalated, shortfall, min(gaps), float(np.mean(gaps)), bands)

    ends: dict[str, tuple[int, int]] = {}
    path = [point(ends)]
    while path[-1].escalated < limit:
        moves = []
        for label, grid in grids.items():
            if label in ends:
                low, high = ends[label]
                moves += [{**ends, label: (low - 1, high)}, {**ends, label: (low, high + 1)}]
            else:
                moves += [{**ends, label: (i, i + 1)} for i in range(len(grid))]
        best: tuple[float, dict[str, tuple[int, int]], PathPoint] | None = None
        for move in moves:
            if any(low < 0 or high > len(grids[label]) for label, (low, high) in move.items()):
                continue
            candidate = point(move)
            added = candidate.escalated - path[-1].escalated
            if added <= 0:
                continue
            gain = (path[-1].shortfall - candidate.shortfall) / added
            if best is None or gain > best[0]:
                best = (gain, move, candidate)
        if best is None:
            return path
        ends = best[1]
        path.append(best[2])
    return path


def split_half(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    tasks: list[Task],
    max_escalated: float = 0.10,
) -> list[CascadeResult]:
    """Bands chosen on the even rows of every file, measured on the odd rows; then the other way round."""
    halves = []
    for part in (0, 1):
        halves.append(
            (
                {family: s[part::2] for family, s in screen.items()},
                {family: s[part::2] for family, s in accurate.items()},
                [Task(t.family, t.label, t.gold[part::2]) for t in tasks],
            )
        )
    results = []
    for chosen_on, measured_on in ((0, 1), (1, 0)):
        s_half, a_half, t_half = halves[chosen_on]
        chosen = choose_bands(s_half, a_half, labels, t_half, max_escalated, path_limit=max_escalated)
        results.append(evaluate(*halves[measured_on][:2], labels, halves[measured_on][2], chosen.bands))
    return results


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
