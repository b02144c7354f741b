"""The scorer interfaces and the registry that picks one by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from moderation.config import ScoringSettings
from moderation.errors import ScoringError
from moderation.models import CommentScore, InThread


class TextScorer(Protocol):
    """Scores comment texts one by one, without the thread (a model)."""

    name: str
    version: str
    labels: tuple[str, ...]

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]: ...


class Scorer(Protocol):
    """Scores comments with their thread: what the pipeline and `moderation score` use."""

    name: str
    version: str
    labels: tuple[str, ...]

    def score(self, batch: Sequence[InThread]) -> list[CommentScore]: ...


TextScorerFactory = Callable[[ScoringSettings, str], TextScorer]
_PLUGINS: dict[str, TextScorerFactory] = {}


def register_text_scorer(kind: str, factory: TextScorerFactory) -> None:
    """Make `kind` (or `kind:<variant>`) a scorer name; the factory gets the settings and the variant."""
    _PLUGINS[kind] = factory
    _load_cached.cache_clear()


def load_scorer(name: str, settings: ScoringSettings) -> Scorer:
    """The scorer called `name`, loaded once per process and reused."""
    return _load_cached(name, settings)


@lru_cache(maxsize=4)
def _load_cached(name: str, settings: ScoringSettings) -> Scorer:
    from moderation.scoring.attack import ThreadAwareScorer

    return ThreadAwareScorer(_text_scorer(name, settings))


def _text_scorer(name: str, settings: ScoringSettings) -> TextScorer:
    kind, _, variant = name.partition(":")
    if kind in _PLUGINS:
        return _PLUGINS[kind](settings, variant)
    if kind == "fast":
        from moderation.scoring.fast import FastScorer

        return FastScorer(
            model_dir=Path(settings.fast.model_dir) if settings.fast.model_dir else None,
            evidence_min_score=settings.fast.evidence_min_score,
        )
    if kind == "lexicon":
        from moderation.scoring.lexicon import LexiconScorer

        return LexiconScorer()
    if kind == "detoxify":
        from moderation.scoring.detoxify_scorer import DetoxifyScorer

        return DetoxifyScorer(settings.detoxify, model=variant or None)
    if kind == "accurate":
        from moderation.scoring.accurate import AccurateScorer

        return AccurateScorer(settings.accurate)
    if kind == "cascade":
        from moderation.scoring.cascade import CascadeScorer

        tiers = settings.cascade
        if "cascade" in (tiers.screen.partition(":")[0], tiers.accurate.partition(":")[0]):
            raise ScoringError("scoring.cascade: a cascade cannot be a tier of itself; use e.g. fast and accurate")
        return CascadeScorer(
            _text_scorer(tiers.screen, settings), _lazy_text_scorer(tiers.accurate, settings), tiers.bands
        )
    raise ScoringError(f"unknown scorer {name!r}: use one of {', '.join(available_scorers())}")


def _lazy_text_scorer(name: str, settings: ScoringSettings) -> TextScorer:
    """The scorer called `name`, loaded on first use where its version and labels are known without loading it."""
    if name != "accurate" or "accurate" in _PLUGINS:
        return _text_scorer(name, settings)
    from moderation.scoring.accurate import accurate_artifact
    from moderation.scoring.cascade import LazyTextScorer

    artifact = accurate_artifact(settings.accurate)
    return LazyTextScorer(name, artifact.version, artifact.labels, lambda: _text_scorer(name, settings))


def available_scorers() -> list[str]:
    return ["fast", "lexicon", "accurate", "cascade", "detoxify", "detoxify:<model>", *_PLUGINS]
