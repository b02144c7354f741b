"""Scoring: label scores per comment, plus attack on a fellow commenter from the thread."""

from moderation.scoring.base import load_scorer, register_text_scorer
from moderation.scoring.protocols import Scorer, TextScorer

__all__ = ["Scorer", "TextScorer", "load_scorer", "register_text_scorer"]
