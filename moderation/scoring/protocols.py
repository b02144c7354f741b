"""The scorer interfaces: what a model offers (`TextScorer`) and what the pipeline calls (`Scorer`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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
