"""Identity terms in training: balancing the rows (Dixon et al., "Measuring and Mitigating Unintended Bias in
Text Classification", AIES 2018) by counterfactual copies of the train files' own rows, and the counterfactual
of a row for logit pairing (Garg et al., "Counterfactual Fairness in Text Classification through Robustness",
AIES 2019): the same row with one identity term replaced by another, which training asks to score alike (for
every output but those left unpaired, such as identity_attack, which may rightly depend on the group named).

In the train files some identity terms occur mostly in toxic comments: 76% of jigsaw_toxic_6label's rows that
say "gay" are toxic, against 22% of all its rows. A model learns the word instead of the attack and flags
friendly mentions such as "Myesha is a gracious homosexual" (reports/identity-terms.md). Per file family, for
each term whose share of positive rows is above the family's, this adds copies of the family's negative rows
that mention another term of the same grammatical form, with that term replaced by this one, until the term's
share of positives is the family's, and at most MAX_COPIES_PER_MENTION copies per row that uses the term (a rare
term is not swamped by substitutes). A copy keeps its row's targets and mask: every target below 0.5, as the
row was read.

Positive twins (`positive_twins`) go the other way: a positive row that names a group, added again with the
group replaced by another, its labels kept, so that debiasing the friendly mentions need not teach that naming a
group is benign (reports/identity-terms.md: it did not prevent it).

The terms are identity words only; colour words, which are often not about people ("black hole"), are
replaced into negative rows but never taken out of one. Slurs are not identity terms and are never added.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_COPIES_PER_MENTION = 3
# One form per tuple: a term is only ever replaced by one of its own form, so the copies stay grammatical.
ADJECTIVES = (
    "lesbian", "gay", "bisexual", "transgender", "queer", "lgbt", "lgbtq", "homosexual", "heterosexual",
    "black", "white", "african", "european", "hispanic", "latino", "latina", "mexican", "asian", "indian",
    "chinese", "arab", "jewish", "muslim", "christian", "catholic", "protestant", "hindu", "sikh", "buddhist",
    "atheist", "deaf", "blind", "disabled", "immigrant",
)  # fmt: skip
PLURALS = (
    "lesbians", "gays", "bisexuals", "homosexuals", "africans", "europeans", "hispanics", "latinos", "mexicans",
    "asians", "indians", "arabs", "jews", "muslims", "christians", "catholics", "protestants", "hindus", "sikhs",
    "buddhists", "atheists", "immigrants", "women",
)  # fmt: skip
FORMS = (ADJECTIVES, PLURALS)
FORM_PATTERNS = tuple((form, re.compile(r"\b(" + "|".join(form) + r")\b", re.IGNORECASE)) for form in FORMS)
NEVER_REPLACED = frozenset({"black", "white"})


@dataclass(frozen=True)
class Copy:
    row: int
    """The row copied (its targets and mask go with the copy)."""
    text: str
    term: str
    """The term written into the copy."""


def balancing_copies(texts: Sequence[str], positive: npt.NDArray[np.bool_], seed: int) -> list[Copy]:
    """The copies that bring each term's share of positive rows down to the family's (see the module)."""
    base = float(positive.mean()) if len(positive) else 0.0
    if base == 0.0:
        return []
    rng = random.Random(seed)
    copies: list[Copy] = []
    for form, pattern in FORM_PATTERNS:
        uses: dict[str, list[int]] = {term: [] for term in form}
        found: dict[int, list[re.Match[str]]] = {}
        for row, text in enumerate(texts):
            matches = list(pattern.finditer(text))
            if matches:
                found[row] = matches
                for term in _terms(matches):
                    uses[term].append(row)
        for term in form:
            wanted = _copies_wanted(positive[uses[term]], base)
            donors = [row for row, matches in found.items() if not positive[row] and _replaceable(matches, term)]
            for row in rng.sample(donors, min(wanted, len(donors))):
                copies.append(Copy(row, _replace_one(texts[row], found[row], term, rng), term))
    return copies


def counterfactuals(texts: Sequence[str], seed: int) -> dict[int, str]:
    """Row -> the row with one of its identity terms (every occurrence) replaced by another term of its form,
    for the rows that have one that may be replaced."""
    rng = random.Random(seed)
    found: dict[int, str] = {}
    for form, pattern in FORM_PATTERNS:
        for row, text in enumerate(texts):
            if row in found:
                continue
            matches = [m for m in pattern.finditer(text) if m.group(0).lower() not in NEVER_REPLACED]
            if matches:
                used = _terms(matches)
                term = rng.choice([t for t in form if t not in used])
                found[row] = _replace_one(text, matches, term, rng)
    return found


def positive_twins(
    texts: Sequence[str], positive: npt.NDArray[np.bool_], per_row: int, seed: int
) -> list[tuple[int, str]]:
    """(row, text): up to `per_row` different counterfactuals of each `positive` row, each with one identity term
    replaced by another of its form."""
    twins: dict[tuple[int, str], None] = {}
    for k in range(per_row):
        for row, text in counterfactuals(texts, seed + k).items():
            if positive[row]:
                twins[(row, text)] = None
    return list(twins)


def _copies_wanted(positive_uses: npt.NDArray[np.bool_], base: float) -> int:
    uses, positives = len(positive_uses), int(positive_uses.sum())
    if uses == 0 or positives / uses <= base:
        return 0
    return min(round(positives / base) - uses, MAX_COPIES_PER_MENTION * uses)


def _terms(matches: list[re.Match[str]]) -> set[str]:
    return {m.group(0).lower() for m in matches}


def _replaceable(matches: list[re.Match[str]], term: str) -> bool:
    terms = _terms(matches)
    return bool(terms - NEVER_REPLACED) and term not in terms


def _replace_one(text: str, matches: list[re.Match[str]], term: str, rng: random.Random) -> str:
    """The text with one of its (replaceable) identity terms, every occurrence of it, replaced by `term`."""
    old = rng.choice(sorted(_terms(matches) - NEVER_REPLACED))
    return re.sub(rf"\b{old}\b", lambda m: _same_case(m.group(0), term), text, flags=re.IGNORECASE)


def _same_case(original: str, term: str) -> str:
    if original.isupper() and len(original) > 1:
        return term.upper()
    return term.capitalize() if original[:1].isupper() else term
