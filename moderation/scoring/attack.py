"""Attack on a fellow commenter: a text scorer's insult signal, aimed by the thread at a participant.

Who is addressed, strongest first: a participant named in the text ("Slaven, ...", "@Mike", "Dear
Slaven"), then "you" in a reply (the parent's author), then "you" in a top-level comment (nobody in
particular). The attack score is the insult score times how surely someone in the thread is addressed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from moderation.models import Comment, CommentScore, InThread, Span, Thread
from moderation.scoring.base import TextScorer

ATTACK_VERSION = "1"
SECOND_PERSON = re.compile(r"\b(you|you'?re|you’re|your|yours|yourself|u|ur)\b", re.IGNORECASE)
# How surely the insult is aimed at a participant, by how they are addressed.
NAMED = 1.0
YOU_IN_REPLY = 0.9
YOU_AT_TOP_LEVEL = 0.45
NOBODY = 0.15


@dataclass(frozen=True)
class Addressee:
    name: str | None
    confidence: float
    span: Span | None = None


class ThreadAwareScorer:
    """Wraps a text scorer; adds attack_on_commenter and attack_target from the thread."""

    def __init__(self, text_scorer: TextScorer) -> None:
        self.text_scorer = text_scorer
        self.name = text_scorer.name
        self.version = f"{text_scorer.version}+thread{ATTACK_VERSION}"
        self.labels = text_scorer.labels

    def score(self, batch: Sequence[InThread]) -> list[CommentScore]:
        results = self.text_scorer.score_texts([item.comment.text for item in batch])
        for item, result in zip(batch, results, strict=True):
            self._add_attack(item, result)
        return results

    def _add_attack(self, item: InThread, result: CommentScore) -> None:
        insult = max(result.scores.get("insult", 0.0), result.scores.get("threat", 0.0))
        addressee = find_addressee(item.comment, item.thread)
        result.attack_on_commenter = round(insult * addressee.confidence, 4)
        result.attack_target = addressee.name if addressee.confidence >= YOU_IN_REPLY else None
        if addressee.span is not None and result.attack_target is not None:
            spans = result.evidence.get("insult", []) + result.evidence.get("threat", [])
            result.evidence["attack_on_commenter"] = sorted([addressee.span, *spans])


def find_addressee(comment: Comment, thread: Thread) -> Addressee:
    named = _named_participant(comment, thread)
    if named is not None:
        return named
    you = SECOND_PERSON.search(comment.text)
    if you is None:
        return Addressee(None, NOBODY)
    parent = thread.parent_of(comment)
    if parent is not None and parent.author and parent.author != comment.author:
        return Addressee(parent.author, YOU_IN_REPLY, you.span())
    return Addressee(None, YOU_AT_TOP_LEVEL, you.span())


def _named_participant(comment: Comment, thread: Thread) -> Addressee | None:
    others = sorted((p for p in thread.participants() if p and p != comment.author), key=len, reverse=True)
    for name in others:
        for pattern in _name_patterns(name):
            match = pattern.search(comment.text)
            if match is not None:
                return Addressee(name, NAMED, match.span())
    return None


def _name_patterns(name: str) -> list[re.Pattern[str]]:
    escaped = re.escape(name)
    first = re.escape(name.split()[0])
    return [
        re.compile(rf"(?<![\w@])@?{escaped}\b", re.IGNORECASE),
        re.compile(rf"(?<![\w@])@?{first}\b(?=\s*[,:!])", re.IGNORECASE),
    ]
