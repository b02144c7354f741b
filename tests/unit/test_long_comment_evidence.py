"""Evidence spans on long comments, where the fast model reads only the head and the tail, are whole words."""

from __future__ import annotations

import pytest

from moderation.scoring.evidence import top_spans
from moderation.scoring.fast import FastScorer
from moderation.scoring.normalise import MAX_HEAD, MAX_TAIL, whole_word_span

FILLER = "The council met on Tuesday to discuss the budget for next year. " * 1000


@pytest.fixture(scope="module")
def scorer() -> FastScorer:
    return FastScorer()


def _tail_cut_inside(word: str, cut: int) -> str:
    """A 50,000-character comment whose scored tail starts `cut` letters into `word`."""
    tail = (word[cut:] + " and the weather was nice today." * 40)[:MAX_TAIL]
    return FILLER[: 50_000 - MAX_TAIL - cut - 4] + "you " + word[:cut] + tail


def _evidence_on(text: str, scorer: FastScorer, start: int, end: int) -> list[str]:
    """Evidence of every label (as for a comment that every label flags) that overlaps [start, end)."""
    evidence = top_spans(text, scorer.model, range(len(scorer.labels)))
    return [text[a:b] for spans in evidence.values() for a, b in spans if a < end and b > start]


@pytest.mark.parametrize("cut", [1, 2])
def test_an_insult_cut_by_the_scored_tail_is_highlighted_whole_in_a_50000_character_comment(
    scorer: FastScorer, cut: int
) -> None:
    text = _tail_cut_inside("idiots", cut)
    word_start = len(text) - MAX_TAIL - cut
    assert len(text) == 50_000 and text[word_start : word_start + 6] == "idiots"

    assert set(_evidence_on(text, scorer, word_start, word_start + 6)) == {"idiots"}


def test_an_insult_cut_at_the_end_of_the_scored_head_is_highlighted_whole(scorer: FastScorer) -> None:
    text = FILLER[: MAX_HEAD - 6] + " fucking " + FILLER[:46_000]
    word_start = MAX_HEAD - 5

    assert set(_evidence_on(text, scorer, word_start, word_start + 7)) == {"fucking"}


def test_whole_word_span_widens_only_words_that_the_truncation_cut() -> None:
    text = "a" * (MAX_HEAD - 2) + " stupid " + "b " * 30_000 + "moron " + "c " * (MAX_TAIL // 2 - 3)
    tail_start = len(text) - MAX_TAIL
    moron = text.index("moron")

    assert whole_word_span(text, MAX_HEAD - 1, MAX_HEAD) == (MAX_HEAD - 1, MAX_HEAD + 5)
    assert whole_word_span(text, tail_start, moron + 5) == (moron, moron + 5)
    assert whole_word_span(text, moron, moron + 5) == (moron, moron + 5)
    assert whole_word_span("short idiot", 6, 9) == (6, 9)
