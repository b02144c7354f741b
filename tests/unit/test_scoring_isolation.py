"""score_isolated: a comment that makes the scorer raise fails alone; a broken scorer fails the batch."""

from collections.abc import Sequence

import pytest

from moderation.errors import ScoringError
from moderation.models import Comment, CommentScore, InThread, Thread
from moderation.scoring.isolation import ScoringFailed, score_isolated


class LengthScorer:
    """Scores each comment by its length; raises on any batch holding a text in `poison`."""

    name, version, labels = "length", "1", ("length",)

    def __init__(self, poison: set[str]) -> None:
        self.poison = poison
        self.calls = 0

    def score(self, batch: Sequence[InThread]) -> list[CommentScore]:
        self.calls += 1
        if any(item.comment.text in self.poison for item in batch):
            raise ValueError("cannot featurise")
        return [CommentScore(scores={"length": float(len(item.comment.text))}) for item in batch]


def _batch(*texts: str) -> list[InThread]:
    return [InThread(Comment(id=str(i), text=text, author="a"), Thread()) for i, text in enumerate(texts)]


def test_the_failing_comment_gets_its_error_and_every_other_its_score_in_order() -> None:
    texts = ["a", "bb", "ccc", "bad", "eeeee", "ffffff", "g", "hh"]
    results = score_isolated(LengthScorer({"bad"}), _batch(*texts))
    assert results[3] == ScoringFailed("ValueError: cannot featurise")
    assert [r.scores["length"] for r in results if isinstance(r, CommentScore)] == [1, 2, 3, 5, 6, 1, 2]


def test_a_batch_without_failures_costs_one_call() -> None:
    scorer = LengthScorer(set())
    score_isolated(scorer, _batch("a", "b", "c"))
    assert scorer.calls == 1


def test_a_scorer_failing_on_every_comment_of_a_batch_raises_a_scoring_error() -> None:
    with pytest.raises(ScoringError, match="scorer length failed on every comment of a batch of 2: ValueError"):
        score_isolated(LengthScorer({"x", "y"}), _batch("x", "y"))


def test_a_single_comment_batch_that_fails_is_that_comments_failure() -> None:
    assert score_isolated(LengthScorer({"x"}), _batch("x")) == [ScoringFailed("ValueError: cannot featurise")]
