"""The `lexicon` scorer: word lists, honest about being word lists; needs no model files.

Matching is on word tokens with repeated letters collapsed ("stuuupid" and "looser" match "stupid" and
"loser"). A match scores MATCH_SCORE for its label and for toxicity; no match scores NO_MATCH_SCORE.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from moderation.models import CommentScore, Span

MATCH_SCORE = 0.9
NO_MATCH_SCORE = 0.02
WORD = re.compile(r"[\w*@$]+", re.UNICODE)
REPEATS = re.compile(r"(.)\1+")
LEET = str.maketrans({"1": "i", "3": "e", "4": "a", "0": "o", "5": "s", "$": "s", "@": "a"})

WORDS: dict[str, tuple[str, ...]] = {
    "insult": (
        "idiot",
        "idiots",
        "idiotic",
        "moron",
        "morons",
        "moronic",
        "stupid",
        "dumb",
        "dumbass",
        "loser",
        "losers",
        "fool",
        "fools",
        "imbecile",
        "cretin",
        "jerk",
        "clown",
        "dimwit",
        "halfwit",
        "nitwit",
        "scum",
        "scumbag",
        "troll",
        "retard",
        "retarded",
        "coward",
        "liar",
    ),
    "obscene": ("fuck", "fucking", "fucker", "shit", "shitty", "bullshit", "asshole", "bitch", "crap", "dick", "f***"),
    "identity_attack": ("faggot", "fag", "nigger", "kike", "spic", "tranny"),
}
# A threat needs a target: "kill" alone is too common ("he killed a conscript") to count.
THREAT_PHRASE = re.compile(r"\b(i('| wi)ll|gonna|going to)\s+(kill|murder|shoot|stab|hurt)\s+(you|u)\b", re.IGNORECASE)


def collapse(token: str) -> str:
    return REPEATS.sub(r"\1", token.lower().translate(LEET))


_INDEX: dict[str, str] = {collapse(word): label for label, words in WORDS.items() for word in words}


class LexiconScorer:
    name = "lexicon"
    version = "lexicon-1"
    labels: tuple[str, ...] = ("toxicity", "obscene", "threat", "insult", "identity_attack")

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        return [self._score_one(text) for text in texts]

    def _score_one(self, text: str) -> CommentScore:
        evidence: dict[str, list[Span]] = {}
        for match in WORD.finditer(text):
            label = _INDEX.get(collapse(match.group()))
            if label is not None:
                evidence.setdefault(label, []).append(match.span())
        for match in THREAT_PHRASE.finditer(text):
            evidence.setdefault("threat", []).append(match.span())
        scores = {label: MATCH_SCORE if label in evidence else NO_MATCH_SCORE for label in self.labels}
        if evidence:
            evidence["toxicity"] = sorted(span for spans in evidence.values() for span in spans)
            scores["toxicity"] = MATCH_SCORE
        return CommentScore(scores=scores, evidence=evidence)
