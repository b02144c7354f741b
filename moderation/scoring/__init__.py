"""Scoring: label scores per comment, plus attack on a fellow commenter from the thread."""

from moderation.scoring.base import Scorer, TextScorer, load_scorer

__all__ = ["Scorer", "TextScorer", "load_scorer"]
