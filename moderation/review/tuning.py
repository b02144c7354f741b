"""Thresholds from moderators' decisions: per label, the lowest threshold at which the items it flagged were
rejected often enough (`moderation tune thresholds`), and writing them into the config file.

Only flagged comments reach moderators, so decisions say nothing about scores below the lowest one a label
flagged: a proposal never goes below that (it is marked `at_floor` when it stops there).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from moderation.errors import ConfigError
from moderation.models import QueueStatus
from moderation.review.stats import decided_items_query
from moderation.storage.engine import Database

DEFAULT_MIN_DECISIONS = 30
Z_95 = 1.959963984540054
STEP = Decimal("0.01")


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class ThresholdProposal:
    """For one label: the decisions, and the proposed threshold or why there is none."""

    label: str
    current: float | None
    """The configured threshold."""
    decided: int
    """Items this label flagged that a moderator approved or rejected."""
    rejected: int
    threshold: float | None = None
    """The lowest threshold (in steps of 0.01) whose flagged items reach the target precision."""
    kept: int = 0
    """Decided items at or above `threshold`."""
    kept_rejected: int = 0
    interval: Interval | None = None
    """Wilson 95% interval of the precision at `threshold`."""
    at_floor: bool = False
    """`threshold` is the lowest decided score: a lower one might do too, decisions cannot tell."""
    refused: str | None = None

    @property
    def precision(self) -> float | None:
        return self.kept_rejected / self.kept if self.kept else None

    @property
    def current_precision(self) -> float | None:
        return self.rejected / self.decided if self.decided else None

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "current": self.current,
            "decided": self.decided,
            "rejected": self.rejected,
            "current_precision": self.current_precision,
            "threshold": self.threshold,
            "kept": self.kept,
            "kept_rejected": self.kept_rejected,
            "precision": self.precision,
            "interval": [self.interval.low, self.interval.high] if self.interval else None,
            "at_floor": self.at_floor,
            "refused": self.refused,
        }


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval:
    """The Wilson score interval of a proportion (successes of trials, trials > 0)."""
    p, n = successes / trials, trials
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def decided_scores(db: Database) -> dict[str, list[tuple[float, bool]]]:
    """Per label: (score, rejected?) of every item it flagged that a moderator approved or rejected."""
    found: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    with db.session() as session:
        for status, reasons in session.execute(decided_items_query()):
            for label, score in dict(reasons).items():
                if isinstance(score, int | float):
                    found[label].append((float(score), status == QueueStatus.REJECTED))
    return found


def propose_thresholds(
    decided: Mapping[str, list[tuple[float, bool]]],
    current: Mapping[str, float],
    target: float,
    min_decisions: int = DEFAULT_MIN_DECISIONS,
) -> list[ThresholdProposal]:
    """Per label (configured or seen in decisions), the lowest threshold t on a 0.01 grid, no lower than the
    lowest decided score, such that at least `min_decisions` decided items score >= t and at least `target` of
    them were rejected. A label with fewer than `min_decisions` decisions in all is refused."""
    return [
        propose_one(label, decided.get(label, []), current.get(label), target, min_decisions)
        for label in sorted({*current, *decided})
    ]


def propose_one(
    label: str, decided: list[tuple[float, bool]], current: float | None, target: float, min_decisions: int
) -> ThresholdProposal:
    rejected = sum(1 for _, was_rejected in decided if was_rejected)
    base = ThresholdProposal(label, current, decided=len(decided), rejected=rejected)
    if len(decided) < min_decisions:
        return _refused(base, f"{len(decided)} decisions, fewer than the {min_decisions} needed")
    floor = _floor(min(score for score, _ in decided))
    step = floor
    while step <= 1:
        kept = [was_rejected for score, was_rejected in decided if score >= float(step)]
        if len(kept) < min_decisions:
            break
        if sum(kept) >= target * len(kept):
            return ThresholdProposal(
                label,
                current,
                decided=len(decided),
                rejected=rejected,
                threshold=float(step),
                kept=len(kept),
                kept_rejected=sum(kept),
                interval=wilson_interval(sum(kept), len(kept)),
                at_floor=step == floor,
            )
        step += STEP
    return _refused(
        base,
        f"no threshold keeps {min_decisions} decisions with precision {target:g} or more "
        f"(now {rejected}/{len(decided)})",
    )


def _refused(base: ThresholdProposal, why: str) -> ThresholdProposal:
    return ThresholdProposal(base.label, base.current, base.decided, base.rejected, refused=why)


def _floor(score: float) -> Decimal:
    """`score` rounded down to the 0.01 grid (so every item scoring `score` is at or above it)."""
    return Decimal(repr(score)).quantize(STEP, rounding=ROUND_FLOOR)


def write_thresholds(config_path: Path, thresholds: Mapping[str, float]) -> None:
    """Set `[policy.thresholds]` keys in the config file, keeping its comments, layout and other keys."""
    try:
        document = (
            tomlkit.parse(config_path.read_text(encoding="utf-8")) if config_path.exists() else tomlkit.document()
        )
    except TOMLKitError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from exc
    policy = _table(document, "policy")
    table = _table(policy, "thresholds")
    for label, value in thresholds.items():
        table[label] = value
    config_path.write_text(tomlkit.dumps(document), encoding="utf-8")


def _table(parent: Any, key: str) -> Any:
    if key not in parent:
        parent[key] = tomlkit.table(is_super_table=key == "policy")
    found = parent[key]
    if not isinstance(found, Mapping):
        raise ConfigError(f"{key} in the config file is not a table; cannot write thresholds into it")
    return found


def chosen(proposals: Iterable[ThresholdProposal]) -> dict[str, float]:
    """The proposals that have a threshold, as config keys."""
    return {p.label: p.threshold for p in proposals if p.threshold is not None}
