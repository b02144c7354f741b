"""The scorer registry: one name per scorer, built-ins and plugins registered the same way."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from moderation.config import ScoringSettings
from moderation.errors import ScoringError
from moderation.scoring.attack import ThreadAwareScorer
from moderation.scoring.protocols import Scorer, TextScorer

if TYPE_CHECKING:
    from moderation.scoring.screen_fit import ScreenFit

TextScorerFactory = Callable[[ScoringSettings, str], TextScorer]
_FACTORIES: dict[str, TextScorerFactory] = {}


def register_text_scorer(kind: str, factory: TextScorerFactory) -> None:
    """Make `kind` (or `kind:<variant>`) a scorer name; the factory gets the settings and the variant."""
    _FACTORIES[kind] = factory
    _load_cached.cache_clear()


def load_scorer(name: str, settings: ScoringSettings) -> Scorer:
    """The scorer called `name`, loaded once per process and reused."""
    return _load_cached(name, settings)


@lru_cache(maxsize=4)
def _load_cached(name: str, settings: ScoringSettings) -> Scorer:
    return ThreadAwareScorer(_text_scorer(name, settings))


def _text_scorer(name: str, settings: ScoringSettings) -> TextScorer:
    kind, _, variant = name.partition(":")
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise ScoringError(f"unknown scorer {name!r}: use one of {', '.join(available_scorers())}")
    return factory(settings, variant)


def available_scorers() -> list[str]:
    names = list(_FACTORIES)
    names.insert(names.index("accurate") + 1, "accurate:int8")
    names.insert(names.index("detoxify") + 1, "detoxify:<model>")
    return names


def _fast(settings: ScoringSettings, variant: str) -> TextScorer:
    from moderation.scoring.fast import FastScorer

    return FastScorer(
        model_dir=Path(settings.fast.model_dir) if settings.fast.model_dir else None,
        evidence_min_score=settings.fast.evidence_min_score,
    )


def _lexicon(settings: ScoringSettings, variant: str) -> TextScorer:
    from moderation.scoring.lexicon import LexiconScorer

    return LexiconScorer()


def _accurate(settings: ScoringSettings, variant: str) -> TextScorer:
    from moderation.scoring.accurate import AccurateScorer, parse_precision

    return AccurateScorer(settings.accurate, parse_precision(variant))


def _cascade(settings: ScoringSettings, variant: str) -> TextScorer:
    from moderation.scoring.cascade import CascadeScorer

    tiers = settings.cascade
    if "cascade" in (tiers.screen.partition(":")[0], tiers.accurate.partition(":")[0]):
        raise ScoringError("scoring.cascade: a cascade cannot be a tier of itself; use e.g. fast and accurate")
    screen, accurate = _text_scorer(tiers.screen, settings), _lazy_text_scorer(tiers.accurate, settings)
    # The recheck bands are where the int8 copy's flags can differ from the fp32 model's: for that tier only.
    recheck = _lazy_text_scorer("accurate", settings) if tiers.accurate == "accurate:int8" else None
    fit = _screen_fit(tiers.screen_fit, screen, accurate)
    return CascadeScorer(screen, accurate, tiers.bands, fit, recheck=recheck, recheck_bands=tiers.recheck_bands)


def _screen_fit(configured: str | None, screen: TextScorer, accurate: TextScorer) -> ScreenFit | None:
    """The configured fit; unset: the shipped one where it is for these tiers by name (fast > accurate), none
    for other tiers; "" (empty): none."""
    from moderation.scoring.screen_fit import DEFAULT_FIT_PATH, read_fit

    if configured == "":
        return None
    if configured is not None:
        return read_fit(Path(configured).expanduser())
    shipped = read_fit(DEFAULT_FIT_PATH)
    names = (shipped.screen.partition("/")[0], shipped.accurate.partition("/")[0])
    return shipped if names == (screen.name, accurate.name) else None


def _detoxify(settings: ScoringSettings, variant: str) -> TextScorer:
    from moderation.scoring.detoxify_scorer import DetoxifyScorer

    return DetoxifyScorer(settings.detoxify, model=variant or None)


def _lazy_text_scorer(name: str, settings: ScoringSettings) -> TextScorer:
    """The scorer called `name`, loaded on first use where its version and labels are known without loading it."""
    kind, _, variant = name.partition(":")
    if kind != "accurate" or _FACTORIES.get("accurate") is not _accurate:
        return _text_scorer(name, settings)
    from moderation.scoring.accurate import accurate_artifact, accurate_version, parse_precision
    from moderation.scoring.cascade import LazyTextScorer

    artifact = accurate_artifact(settings.accurate)
    version = accurate_version(artifact, parse_precision(variant))
    return LazyTextScorer(kind, version, artifact.labels, lambda: _text_scorer(name, settings), artifact.version)


for _kind, _factory in {
    "fast": _fast,
    "lexicon": _lexicon,
    "accurate": _accurate,
    "cascade": _cascade,
    "detoxify": _detoxify,
}.items():
    register_text_scorer(_kind, _factory)

__all__ = ["TextScorerFactory", "available_scorers", "load_scorer", "register_text_scorer"]
