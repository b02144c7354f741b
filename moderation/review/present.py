"""How a comment card reads: readable label names, score chips, evidence split into highlighted segments.

Pure functions: templates and the CLI render what these return, and escape every piece of comment text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from moderation.models import (
    ALWAYS_REVIEW,
    ATTACK_ON_COMMENTER,
    BANNED_COMMENTER,
    BLOCKED_WORD,
    NEW_COMMENTER,
    POLICY_REASONS,
    REJECTION_RATE,
    REPORTED,
)

LABEL_NAMES = {  # every reason the policy can emit has one (tests/unit/test_present.py)
    "toxicity": "Toxic",
    "severe_toxicity": "Severely toxic",
    "obscene": "Obscene",
    "threat": "Threat",
    "insult": "Insult",
    "identity_attack": "Identity attack",
    "sexual_explicit": "Sexually explicit",
    ATTACK_ON_COMMENTER: "Attack on a commenter",
    BLOCKED_WORD: "Blocked word",
    REPORTED: "Reported by readers",
    BANNED_COMMENTER: "Banned commenter",
    ALWAYS_REVIEW: "Always reviewed commenter",
    REJECTION_RATE: "Often rejected commenter",
    NEW_COMMENTER: "New commenter",
}


def flag_notes(reasons: Mapping[str, float], scores: Mapping[str, float]) -> list[str]:
    """Reasons that are not a score (reports, who wrote it, a blocked word), as short phrases for the card."""
    notes: list[str] = []
    for reason in POLICY_REASONS:
        if reason not in reasons or reason in scores:
            continue
        value = reasons[reason]
        if reason == REPORTED:
            notes.append(f"{LABEL_NAMES[reason]}: {int(value)}")
        elif reason == REJECTION_RATE:
            notes.append(f"{LABEL_NAMES[reason]}: {round(value * 100)}% rejected")
        else:
            notes.append(LABEL_NAMES[reason])
    return notes


@dataclass(frozen=True)
class ScoreChip:
    label: str
    name: str
    score: float
    flagged: bool

    @property
    def percent(self) -> int:
        return round(self.score * 100)


@dataclass(frozen=True)
class Segment:
    text: str
    labels: tuple[str, ...] = ()
    """Labels whose evidence covers this piece of text (empty: not highlighted)."""

    @property
    def title(self) -> str:
        return ", ".join(label_name(label) for label in self.labels)


def label_name(label: str) -> str:
    return LABEL_NAMES.get(label, label.replace("_", " ").capitalize())


def reason_name(code: str) -> str:
    """personal_attack -> Personal attack."""
    return code.replace("_", " ").capitalize()


def score_chips(labels: Mapping[str, float], flagged: Iterable[str]) -> list[ScoreChip]:
    """Every score as a chip: flagged labels first, then the rest, each group highest first."""
    marked = set(flagged)
    chips = [ScoreChip(label, label_name(label), float(score), label in marked) for label, score in labels.items()]
    return sorted(chips, key=lambda chip: (not chip.flagged, -chip.score, chip.label))


def highlight(text: str, evidence: Mapping[str, Sequence[Sequence[int]]]) -> list[Segment]:
    """Split `text` at the evidence spans ({label: [[start, end], ...]}, character offsets).

    Overlapping spans are merged into segments that name every label covering them; spans outside the text
    or malformed are ignored.
    """
    spans: list[tuple[int, int, str]] = []
    for label, ranges in evidence.items():
        for span in ranges:
            if len(span) != 2 or not all(isinstance(v, int) for v in span):
                continue
            start, end = max(0, span[0]), min(len(text), span[1])
            if start < end:
                spans.append((start, end, label))
    cuts = sorted({0, len(text)} | {s for s, _, _ in spans} | {e for _, e, _ in spans})
    segments: list[Segment] = []
    for start, end in pairwise(cuts):
        covering = tuple(sorted({label for s, e, label in spans if s <= start and end <= e}))
        if segments and segments[-1].labels == covering:
            segments[-1] = Segment(segments[-1].text + text[start:end], covering)
        else:
            segments.append(Segment(text[start:end], covering))
    return segments


INVISIBLE_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")
"""Control and format characters (bidi overrides and isolates, zero-width ones, BOM), lone surrogates, line and
paragraph separators: invisible or reordering, so a name holding one can pose as another."""
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters that render as nothing (Hangul fillers, the blank Braille pattern)."""


def visible_name(name: str) -> str:
    """`name` with every control or invisible character shown as <U+XXXX>, so "\u202egrebdniL eeL" reads as
    "<U+202E>grebdniL eeL", never as "Lee Lindberg", and "Lee\u200bLindberg" differs visibly from "LeeLindberg".
    """
    return "".join(f"<U+{ord(c):04X}>" if _invisible(c) else c for c in name)


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in INVISIBLE_CATEGORIES or char in BLANK_LETTERS
