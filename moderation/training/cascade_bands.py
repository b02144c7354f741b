"""Choosing the cascade's bands for decisions: escalate what could change a flag.

A comment is flagged for a label when its score reaches the label's threshold (policy.thresholds). The
cascade keeps the screen's scores for comments outside every band and takes the accurate tier's inside
one, so its decisions differ from the accurate tier's alone only where a comment was not escalated. Per
label, the band [low, high) is
- low: the screen's "clearly clean" bound: the `miss` quantile of the screen's scores over the comments
  the accurate tier flags, so at most that share of the accurate tier's flags falls below it unseen;
- high: above it the screen's flag stands: the lowest screen score above which the screen's flags that
  the accurate tier would not make number at most `extra` of the accurate tier's flags (1.0: none stand).
The escalated comments may be scored by another copy of the accurate model than the reference (`tier`: its
int8 copy); the bands are chosen against the reference and the decisions measured against it, so the
copy's own differences count. With a recheck (the reference model scoring again what the copy scores near a
threshold), each label's recheck band holds the copy's scores of every row whose flag the copy and the reference
set differently. Chosen on one half of the dev rows (even rows), measured on the other (odd
rows): decisions against the accurate tier alone (share of its flags kept, extra flags), AUC per task, and
the share escalated on the natural-prevalence dev files (the balanced jigsaw_toxic_6label is not natural
traffic).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

Scores = npt.NDArray[np.floating]
Band = tuple[float, float]
TaskKey = tuple[str, str]
# Dev files whose rows are drawn at natural prevalence: what the escalation rate is reported on.
NATURAL_FAMILIES = (
    "jigsaw_toxic_first20k",
    "wiki_toxicity_cat_large",
    "kaggle_insults",
    "olid",
    "davidson_hate_offensive",
)


@dataclass(frozen=True)
class Task:
    """One (file, label) pair with gold labels."""

    family: str
    label: str
    gold: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Agreement:
    """The cascade's flags against the accurate tier's alone, counted over (comment, label) pairs."""

    accurate_flags: int
    kept: int
    """Accurate flags the cascade also makes."""
    extra: int
    """Cascade flags the accurate tier does not make."""

    @property
    def kept_share(self) -> float:
        return self.kept / self.accurate_flags if self.accurate_flags else 1.0

    @property
    def extra_share(self) -> float:
        return self.extra / self.accurate_flags if self.accurate_flags else 0.0


@dataclass(frozen=True)
class CascadeResult:
    bands: dict[str, Band]
    escalated: dict[str, float]
    """Share escalated per file, 'natural' over the natural-prevalence files, 'all' over every row."""
    recheck_bands: dict[str, Band]
    rechecked: dict[str, float]
    """Share of all rows escalated and then rechecked, per file as `escalated`."""
    agreement: dict[str, Agreement]
    """Per label, and 'all' over the labels: flags are (comment, label) pairs."""
    comments: Agreement
    """Flags are comments flagged for any label: the decision a moderator sees (queued or not)."""
    auc_cascade: dict[TaskKey, float]
    auc_accurate: dict[TaskKey, float]
    auc_screen: dict[TaskKey, float]


def in_band(screen: Scores, labels: tuple[str, ...], bands: Mapping[str, Band]) -> npt.NDArray[np.bool_]:
    """Rows the cascade escalates: any label's screen score in [low, high) of its band."""
    escalate = np.zeros(len(screen), dtype=bool)
    for label, (low, high) in bands.items():
        column = screen[:, labels.index(label)]
        escalate |= (column >= low) & (column < high)
    return escalate


def combined(screen: Scores, accurate: Scores, labels: tuple[str, ...], bands: Mapping[str, Band]) -> Scores:
    """What an escalated comment scores (as `CascadeScorer` combines): the accurate tier's, except where the
    screen is at or above its band's high end, where the higher of the two stands."""
    highs = np.array([bands.get(label, (0.0, 1.0))[1] for label in labels])
    return np.where(screen >= highs, np.maximum(screen, accurate), accurate)


def decision_bands(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    thresholds: Mapping[str, float],
    miss: float = 0.01,
    extra: float = 0.01,
) -> dict[str, Band]:
    """Per label with a threshold, the band that keeps all but `miss` of the accurate tier's flags and lets
    stand at most `extra` (of the accurate tier's flags) of the screen's flags the accurate tier would not make."""
    bands = {}
    for label, threshold, s, flagged in _label_columns(screen, accurate, labels, thresholds):
        if flagged.any():
            low = min(float(np.quantile(s[flagged], miss, method="lower")), threshold)
            bands[label] = (low, _trusted_from(s, flagged, threshold, int(extra * flagged.sum())))
    return bands


def recheck_bands(
    tier: Mapping[str, Scores],
    reference: Mapping[str, Scores],
    labels: tuple[str, ...],
    thresholds: Mapping[str, float],
) -> dict[str, Band]:
    """Per label with a threshold, the band [low, high) of the tier's scores that holds every row where the tier's
    flag differs from the reference's: from the lowest tier score of a reference flag the tier misses to just
    above the highest tier score of a tier flag the reference does not make (to 4 decimals, outwards, as scores
    are rounded). No band for a label where the two never differ."""
    bands = {}
    for label, threshold, t, r in _label_columns(tier, reference, labels, thresholds):
        missed, extra = t[r & (t < threshold)], t[~r & (t >= threshold)]
        if len(missed) or len(extra):
            low = np.floor(missed.min() * 1e4) / 1e4 if len(missed) else threshold
            high = (np.floor(extra.max() * 1e4) + 1) / 1e4 if len(extra) else threshold
            bands[label] = (float(low), float(high))
    return bands


def _label_columns(
    scores: Mapping[str, Scores],
    reference: Mapping[str, Scores],
    labels: tuple[str, ...],
    thresholds: Mapping[str, float],
) -> Iterator[tuple[str, float, Scores, npt.NDArray[np.bool_]]]:
    """Per label with a threshold: the label, its threshold, its column of `scores` over every file, and which of
    those rows `reference` flags."""
    s_all, r_all = np.concatenate(list(scores.values())), np.concatenate(list(reference.values()))
    for k, label in enumerate(labels):
        if label in thresholds:
            yield label, thresholds[label], s_all[:, k], r_all[:, k] >= thresholds[label]


def _trusted_from(s: Scores, flagged: npt.NDArray[np.bool_], threshold: float, allowed: int) -> float:
    """The lowest screen score (>= threshold) at and above which at most `allowed` comments are not accurate's
    flags; 1.0 when there is none."""
    not_flagged = np.sort(s[~flagged])
    values = np.unique(s[s >= threshold])
    wrong_at_or_above = len(not_flagged) - np.searchsorted(not_flagged, values, side="left")
    trusted = values[wrong_at_or_above <= allowed]
    return float(trusted.min()) if len(trusted) else 1.0


def evaluate(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    thresholds: Mapping[str, float],
    tasks: list[Task],
    bands: Mapping[str, Band],
    tier: Mapping[str, Scores] | None = None,
    recheck: Mapping[str, Band] | None = None,
) -> CascadeResult:
    """The cascade's decisions against `accurate` alone, escalated comments scored by `tier` (default: `accurate`),
    and those of them in a `recheck` band by `accurate`."""
    tier = tier if tier is not None else accurate
    recheck = dict(recheck or {})
    escalate = {family: in_band(s, labels, bands) for family, s in screen.items()}
    again = {family: escalate[family] & in_band(tier[family], labels, recheck) for family in screen}
    rescored = {family: np.where(again[family][:, None], accurate[family], tier[family]) for family in screen}
    mixed = {
        family: np.where(escalate[family][:, None], combined(s, rescored[family], labels, bands), s)
        for family, s in screen.items()
    }
    return CascadeResult(
        dict(bands),
        _shares(escalate),
        recheck,
        _shares(again),
        _agreement(mixed, accurate, labels, thresholds),
        _comment_agreement(mixed, accurate, labels, thresholds),
        {_key(t): _auc(t, mixed[t.family], labels) for t in tasks},
        {_key(t): _auc(t, accurate[t.family], labels) for t in tasks},
        {_key(t): _auc(t, screen[t.family], labels) for t in tasks},
    )


def _shares(masks: Mapping[str, npt.NDArray[np.bool_]]) -> dict[str, float]:
    """The share of rows a mask holds per file, over the natural-prevalence files ('natural') and every row ('all')."""
    shares = {family: float(mask.mean()) for family, mask in masks.items()}
    natural = [mask for family, mask in masks.items() if family in NATURAL_FAMILIES]
    shares["natural"] = float(np.concatenate(natural).mean()) if natural else float("nan")
    shares["all"] = float(np.concatenate(list(masks.values())).mean())
    return shares


def split_half(
    screen: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    thresholds: Mapping[str, float],
    tasks: list[Task],
    miss: float = 0.01,
    extra: float = 0.01,
    tier: Mapping[str, Scores] | None = None,
    recheck: bool = False,
) -> CascadeResult:
    """Bands chosen on the even rows of every dev file, measured on the odd rows (escalated comments scored by
    `tier`, default `accurate`; with `recheck`, those where the tier's flag may differ from `accurate`'s scored
    again by `accurate`)."""
    even = {f: a[0::2] for f, a in accurate.items()}
    chosen = decision_bands({f: s[0::2] for f, s in screen.items()}, even, labels, thresholds, miss, extra)
    recheck_chosen = (
        recheck_bands({f: t[0::2] for f, t in tier.items()}, even, labels, thresholds)
        if recheck and tier is not None
        else {}
    )
    return evaluate(
        {f: s[1::2] for f, s in screen.items()},
        {f: a[1::2] for f, a in accurate.items()},
        labels,
        thresholds,
        [Task(t.family, t.label, t.gold[1::2]) for t in tasks],
        chosen,
        {f: t[1::2] for f, t in tier.items()} if tier is not None else None,
        recheck_chosen,
    )


def held_out_agreement(
    scores: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    thresholds: Mapping[str, float],
) -> tuple[Agreement, Agreement]:
    """Flags of `scores` against `accurate`'s on the odd dev rows: over (comment, label) pairs, over comments."""
    odd = {f: s[1::2] for f, s in scores.items()}
    reference = {f: a[1::2] for f, a in accurate.items()}
    return _agreement(odd, reference, labels, thresholds)["all"], _comment_agreement(odd, reference, labels, thresholds)


def _agreement(
    cascade: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    thresholds: Mapping[str, float],
) -> dict[str, Agreement]:
    result = {}
    for label, threshold, scores, a in _label_columns(cascade, accurate, labels, thresholds):
        c = scores >= threshold
        result[label] = Agreement(int(a.sum()), int((c & a).sum()), int((c & ~a).sum()))
    result["all"] = Agreement(
        *(sum(getattr(r, f) for r in result.values()) for f in ("accurate_flags", "kept", "extra"))
    )
    return result


def _comment_agreement(
    cascade: Mapping[str, Scores],
    accurate: Mapping[str, Scores],
    labels: tuple[str, ...],
    thresholds: Mapping[str, float],
) -> Agreement:
    columns = [k for k, label in enumerate(labels) if label in thresholds]
    limits = np.array([thresholds[labels[k]] for k in columns])
    c = (np.concatenate(list(cascade.values()))[:, columns] >= limits).any(axis=1)
    a = (np.concatenate(list(accurate.values()))[:, columns] >= limits).any(axis=1)
    return Agreement(int(a.sum()), int((c & a).sum()), int((c & ~a).sum()))


def _auc(task: Task, scores: Scores, labels: tuple[str, ...]) -> float:
    return float(roc_auc_score(task.gold, scores[:, labels.index(task.label)]))


def _key(task: Task) -> TaskKey:
    return (task.family, task.label)
