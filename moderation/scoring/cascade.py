"""The cascade: a cheap scorer screens every comment; an accurate one rescores only the uncertain ones.

A comment is uncertain when any label's screen score falls in that label's band [low, high) (from
`scoring.cascade.bands`, chosen for decisions by `moderation train cascade`; see reports/cascade.md). With a
screen fit (screen_fit.py), the screen's label scores are first refitted to estimate the accurate tier's,
and the bands apply to those.
Escalated comments take the accurate tier's scores for the screen's labels, and its auxiliary outputs,
except where the screen's own score is at or above the band's high end: there the screen's flag stands
(the higher of the two scores is kept), so a comment escalated for one label cannot lose a clear flag on
another (a threat screened at 1.0 and escalated for its toxicity stays a threat). The rest keep the
screen's. The accurate tier is loaded on the first escalation, so a run where nothing
is uncertain never loads it.

With a recheck tier (the fp32 model behind the int8 copy the cascade escalates to), an escalated comment whose
accurate-tier score for any label falls in that label's recheck band (`scoring.cascade.recheck_bands`: the
scores around the flag threshold where the int8 copy's flag can differ from the fp32 model's, chosen by
`moderation train cascade`) is scored again by the recheck tier, and takes its scores instead.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence

from moderation.errors import ScoringError
from moderation.models import CommentScore
from moderation.scoring.protocols import TextScorer
from moderation.scoring.screen_fit import ScreenFit

# The screen's evidence for a label is kept on escalation only where the accurate tier still scores it this high.
EVIDENCE_MIN_SCORE = 0.5
Band = tuple[float, float]


class LazyTextScorer:
    """A text scorer whose name and version are known up front and whose model loads on first use."""

    def __init__(
        self,
        name: str,
        version: str,
        labels: tuple[str, ...],
        load: Callable[[], TextScorer],
        model_version: str | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.model_version = model_version or version
        self.labels = labels
        self._load = load
        self._scorer: TextScorer | None = None
        self._loading = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._scorer is not None

    @property
    def scorer(self) -> TextScorer:
        with self._loading:  # flow tasks may score batches in threads: load once
            if self._scorer is None:
                scorer = self._load()
                if (scorer.version, scorer.labels) != (self.version, self.labels):
                    raise ScoringError(
                        f"{self.name}: loaded version {scorer.version}, expected {self.version}; "
                        "the model changed while this process ran: restart it"
                    )
                self._scorer = scorer
        return self._scorer

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        return self.scorer.score_texts(texts)


class CascadeScorer:
    name = "cascade"

    def __init__(
        self,
        screen: TextScorer,
        accurate: TextScorer,
        bands: Mapping[str, Band],
        fit: ScreenFit | None = None,
        recheck: TextScorer | None = None,
        recheck_bands: Mapping[str, Band] | None = None,
    ) -> None:
        _check_bands("bands", bands, screen)
        if recheck is not None:
            _check_bands("recheck_bands", recheck_bands or {}, accurate)
        if fit:
            fit.check_tiers(f"{screen.name}/{screen.version}", f"{accurate.name}/{model_version(accurate)}")
        self.screen = screen
        self.accurate = accurate
        self.bands = dict(bands)
        self.fit = fit
        self.recheck_bands = dict(recheck_bands or {}) if recheck is not None else {}
        self.recheck = recheck if self.recheck_bands else None
        self.labels = screen.labels
        chosen = band_digest(self.bands) + (f"-fit{fit.digest}" if fit else "")
        tiers = f"{screen.name}/{screen.version}>{accurate.name}/{accurate.version}"
        if self.recheck is not None:
            chosen += f"-recheck{band_digest(self.recheck_bands)}"
            tiers += f">{self.recheck.name}/{self.recheck.version}"
        self.version = f"cascade-{chosen}:{tiers}"
        self.screened = 0
        self.escalated = 0
        self.rechecked = 0

    def in_band(self, score: CommentScore) -> bool:
        return in_bands(score, self.bands)

    def screen_scores(self, texts: Sequence[str]) -> list[CommentScore]:
        """The screen's results, refitted where there is a fit: what the bands are applied to."""
        results = self.screen.score_texts(texts)
        return self.fit.apply(results) if self.fit else results

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        results = self.screen_scores(texts)
        uncertain = [i for i, score in enumerate(results) if self.in_band(score)]
        self.screened += len(texts)
        self.escalated += len(uncertain)
        if uncertain:
            escalated = [texts[i] for i in uncertain]
            rescored = self._rechecked(escalated, self.accurate.score_texts(escalated))
            for i, accurate in zip(uncertain, rescored, strict=True):
                results[i] = self._combine(results[i], accurate)
        return results

    def _rechecked(self, texts: Sequence[str], scores: list[CommentScore]) -> list[CommentScore]:
        """`scores`, with the recheck tier's in place of those that fall in a recheck band."""
        close = [k for k, score in enumerate(scores) if in_bands(score, self.recheck_bands)]
        if self.recheck is None or not close:
            return scores
        self.rechecked += len(close)
        for k, score in zip(close, self.recheck.score_texts([texts[k] for k in close]), strict=True):
            scores[k] = score
        return scores

    def _combine(self, screened: CommentScore, accurate: CommentScore) -> CommentScore:
        scores = {label: self._combined(label, value, accurate) for label, value in screened.scores.items()}
        evidence = {
            label: spans for label, spans in screened.evidence.items() if scores.get(label, 0.0) >= EVIDENCE_MIN_SCORE
        }
        # The accurate tier's auxiliary heads (e.g. `attack`, read by the thread layer) replace the screen's.
        return CommentScore(scores=scores, evidence=evidence, auxiliary={**screened.auxiliary, **accurate.auxiliary})

    def _combined(self, label: str, screened: float, accurate: CommentScore) -> float:
        rescored = accurate.scores.get(label, screened)
        _, high = self.bands.get(label, (0.0, 1.0))
        return max(screened, rescored) if screened >= high else rescored


def in_bands(score: CommentScore, bands: Mapping[str, Band]) -> bool:
    """Whether any label's score falls in its band [low, high)."""
    return any(low <= score.scores.get(label, -1.0) < high for label, (low, high) in bands.items())


def _check_bands(key: str, bands: Mapping[str, Band], scorer: TextScorer) -> None:
    unknown = sorted(set(bands) - set(scorer.labels))
    if unknown:
        raise ScoringError(
            f"scoring.cascade.{key}: the scorer {scorer.name!r} it applies to has no label {', '.join(unknown)}; "
            f"use some of {', '.join(scorer.labels)}"
        )
    for label, (low, high) in bands.items():
        if not 0.0 <= low <= high <= 1.0:
            raise ScoringError(f"scoring.cascade.{key}.{label}: need 0 <= low <= high <= 1, got [{low}, {high}]")


def model_version(scorer: TextScorer) -> str:
    """The version of the model a scorer runs, at whatever precision (`accurate:int8` runs `accurate`'s model):
    a screen fit and bands are made for a model's decisions."""
    return str(getattr(scorer, "model_version", scorer.version))


def band_digest(bands: Mapping[str, Band]) -> str:
    """A short stable name for a set of bands, part of the cascade's version."""
    canonical = json.dumps({label: [round(v, 6) for v in band] for label, band in sorted(bands.items())})
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]
