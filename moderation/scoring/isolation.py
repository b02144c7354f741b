"""Scoring a batch so that a comment that makes the scorer raise fails alone.

The batch is scored in one call; if that raises, each half is scored on its own, recursively, until
every comment that fails is alone. The others get their scores, in the same run. When every comment
of a batch of several fails, the scorer itself is broken (a missing model, not a bad comment): the
error is raised as a ScoringError, and nothing is recorded against the comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from moderation.errors import ScoringError
from moderation.models import CommentScore, InThread
from moderation.scoring.protocols import Scorer

ERROR_LENGTH = 2000
"""At most this much of an error message is kept per comment."""


@dataclass(frozen=True)
class ScoringFailed:
    """The scorer raised on this comment alone."""

    error: str


def score_isolated(scorer: Scorer, batch: Sequence[InThread]) -> list[CommentScore | ScoringFailed]:
    """One result per comment of `batch`, in order: its score, or why the scorer failed on it alone."""
    results, first_error = _bisect(scorer, batch)
    if first_error is not None and len(batch) > 1 and all(isinstance(r, ScoringFailed) for r in results):
        raise ScoringError(
            f"scorer {scorer.name} failed on every comment of a batch of {len(batch)}: {describe(first_error)}"
        ) from first_error
    return results


def _bisect(scorer: Scorer, batch: Sequence[InThread]) -> tuple[list[CommentScore | ScoringFailed], Exception | None]:
    if not batch:
        return [], None
    try:
        return list(scorer.score(batch)), None
    except Exception as exc:  # any error a model raises on some input; the comment is what we isolate
        if len(batch) == 1:
            return [ScoringFailed(describe(exc))], exc
        middle = len(batch) // 2
        first, first_error = _bisect(scorer, batch[:middle])
        second, second_error = _bisect(scorer, batch[middle:])
        return first + second, first_error or second_error


def describe(exc: BaseException) -> str:
    """The error type and message, cut to ERROR_LENGTH characters."""
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return message[:ERROR_LENGTH]
