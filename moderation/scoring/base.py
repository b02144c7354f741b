"""The scorer interfaces and the registry that picks one by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from moderation.config import ScoringSettings
from moderation.errors import ScoringError
from moderation.models import CommentScore, InThread

DETOXIFY_LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")


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
    raise ScoringError(f"unknown scorer {name!r}: use one of {', '.join(available_scorers())}")


def available_scorers() -> list[str]:
    return ["fast", "lexicon", "detoxify", "detoxify:<model>", *_PLUGINS]
