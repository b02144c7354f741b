"""Text normalisation for the fast scorer, with a map from every output character back to the input.

`normalise(text)` is what the model sees. `normalise_tracked(text)` gives the same string plus, for
each output character, the span of input characters it came from, so evidence found in the normalised
text points at the words the commenter actually wrote. Both apply the same ordered rules:

1. very long text keeps its head and tail (MAX_HEAD + MAX_TAIL characters); evidence on a word this
   cuts in two covers the whole word the commenter wrote (`whole_word_span`);
2. HTML entities are decoded ("&amp;" -> "&");
3. each character is folded: Unicode compatibility decomposition (NFKD: full-width, ligatures, styled
   letters), combining accents dropped, lower case, look-alike Cyrillic/Greek letters and typographic
   quotes to ASCII, invisible characters removed;
4. links become " url " and @handles "@user" (the form OLID already uses);
5. masked swears and insults become the word ("f***" -> "fuck", "sh!t" -> "shit", "id*ot" -> "idiot");
6. leetspeak between letters becomes letters ("id1ot" -> "idiot", "n00b" -> "noob");
7. a letter repeated three times or more becomes one ("stuuupid" -> "stupid"), other repeated
   symbols become two ("!!!!" -> "!!");
8. runs of white space become one space; the ends are stripped.

Rules never change the text's meaning for the model between training and scoring, because training
uses this module too.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_HEAD = 3000
MAX_TAIL = 1000
TRUNCATION_GAP = " "

ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
URL = re.compile(r"(?:https?://|www\.)\S+")
MENTION = re.compile(r"(?<![\w@])@\w+")
MASK_CHARS = "*#@$!%"
MASKED = re.compile(r"(?<![\w*#@$!%])(?=[*#@$!%]*[a-z])[a-z]*[*#@$!%][a-z*#@$!%]*")
LEET_RUN = re.compile(r"(?<=[a-z])[013457$@!|]+(?=[a-z])")
LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a", "!": "i", "|": "l"}
)
LETTER_RUN = re.compile(r"([a-z])\1{2,}")
SYMBOL_RUN = re.compile(r"([^\w\s])\1{2,}")
SPACE = re.compile(r"\s{2,}|[^\S ]")  # runs, and single tabs or newlines; a lone space stays

# Words people mask, most likely reading first: "s**t" is "shit" before it is "slut".
MASKABLE_WORDS = (
    "fuck",
    "fucking",
    "fucked",
    "fucker",
    "fuckers",
    "motherfucker",
    "shit",
    "shitty",
    "bullshit",
    "bitch",
    "bitches",
    "asshole",
    "assholes",
    "ass",
    "cunt",
    "dick",
    "damn",
    "cock",
    "pussy",
    "bastard",
    "crap",
    "slut",
    "whore",
    "piss",
    "idiot",
    "idiots",
    "moron",
    "morons",
    "stupid",
    "loser",
    "retard",
    "retarded",
    "nigger",
    "nigga",
    "faggot",
    "fag",
)
_MASKABLE_BY_LENGTH: dict[int, tuple[str, ...]] = {}
for _word in MASKABLE_WORDS:
    _MASKABLE_BY_LENGTH[len(_word)] = (*_MASKABLE_BY_LENGTH.get(len(_word), ()), _word)

# Letters that look like Latin ones and are used to dodge word filters.
LOOKALIKES = {
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "і": "i",
    "ј": "j",
    "ѕ": "s",
    "α": "a",
    "ε": "e",
    "ι": "i",
    "κ": "k",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ν": "v",
    "‘": "'",
    "’": "'",
    "‛": "'",
    "′": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "″": '"',
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "…": "...",
}
INVISIBLE = {"\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


class _FoldTable(dict[int, str]):
    """Code point -> folded text, filled on first use (str.translate looks characters up here)."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        self[code] = folded
        return folded


def fold_char(char: str) -> str:
    """One character as the model sees it (rule 3)."""
    if char in INVISIBLE:
        return ""
    lowered = char.lower()
    if lowered in LOOKALIKES:
        return LOOKALIKES[lowered]
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()
    return "".join(LOOKALIKES.get(c, c) for c in kept)


_FOLD = _FoldTable()


def _entity(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def _unmask(match: re.Match[str]) -> str:
    token = match.group()
    core = token.rstrip("!")
    if not any(c in MASK_CHARS for c in core) or len(core) < 3:
        return token
    pattern = re.compile("".join("[a-z]" if c in MASK_CHARS else re.escape(c) for c in core))
    for word in _MASKABLE_BY_LENGTH.get(len(core), ()):
        if pattern.fullmatch(word):
            return word + token[len(core) :]
    return token


def _leet(match: re.Match[str]) -> str:
    return match.group().translate(LEET)


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

# Rules 4-8, in order, on folded text.
RULES: tuple[Rule, ...] = (
    (URL, lambda m: " url "),
    (MENTION, lambda m: "@user"),
    (MASKED, _unmask),
    (LEET_RUN, _leet),
    (LETTER_RUN, lambda m: m.group(1)),
    (SYMBOL_RUN, lambda m: m.group(1) * 2),
    (SPACE, lambda m: " "),
)


# For each rule, a quick test that is true whenever the rule could change the text (it may also be true
# when the rule would not): what a rule cannot change, normalise does not scan for.
_BANG_LETTER = re.compile(r"![a-z]")
_OTHER_SPACE = re.compile(r"[^\S ]")


def _may_unmask(text: str) -> bool:
    # With "!" the only mask character, a token changes only if "!" is inside it (trailing ones are
    # kept as they are), that is, followed by a letter.
    return any(c in text for c in "*#@$%") or ("!" in text and _BANG_LETTER.search(text) is not None)


RULE_GUARDS: tuple[Callable[[str], bool], ...] = (
    lambda text: "http" in text or "www." in text,
    lambda text: "@" in text,
    _may_unmask,
    lambda text: any(c in text for c in "013457$@!|"),
    lambda text: True,
    lambda text: True,
    lambda text: "  " in text or _OTHER_SPACE.search(text) is not None,
)


def _truncate(text: str) -> str:
    if len(text) <= MAX_HEAD + MAX_TAIL:
        return text
    return text[:MAX_HEAD] + TRUNCATION_GAP + text[-MAX_TAIL:]


def normalise(text: str) -> str:
    """The text as the model sees it."""
    text = _truncate(text)
    if "&" in text:
        text = ENTITY.sub(_entity, text)
    text = text.lower() if text.isascii() else text.translate(_FOLD)
    for (pattern, replace), may_change in zip(RULES, RULE_GUARDS, strict=True):
        if may_change(text):
            text = pattern.sub(replace, text)
    return text.strip(" ")


@dataclass(frozen=True)
class Tracked:
    """Normalised text, and for each of its characters the input span [starts[i], ends[i]) it came from."""

    text: str
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The input span behind normalised characters [start, end) (end > start)."""
        return int(self.starts[start]), int(self.ends[end - 1])


def whole_word_span(text: str, start: int, end: int) -> tuple[int, int]:
    """An input span [start, end) widened to whole words where rule 1 cut a word in two (the head's last
    word, the tail's first): the model saw part of the word, the commenter wrote all of it."""
    if len(text) <= MAX_HEAD + MAX_TAIL:
        return start, end
    if end == MAX_HEAD:
        while end < len(text) and _is_word_char(text[end]):
            end += 1
    if start == len(text) - MAX_TAIL:
        while start > 0 and _is_word_char(text[start - 1]):
            start -= 1
    return start, end


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def normalise_tracked(text: str) -> Tracked:
    """`normalise(text)` with the input span of every output character."""
    tracked = _truncate_tracked(text)
    tracked = _sub_tracked(ENTITY, _entity, tracked)
    tracked = _fold_tracked(tracked)
    for (pattern, replace), may_change in zip(RULES, RULE_GUARDS, strict=True):
        if may_change(tracked.text):
            tracked = _sub_tracked(pattern, replace, tracked)
    stripped = tracked.text.strip(" ")
    left = len(tracked.text) - len(tracked.text.lstrip(" "))
    right = left + len(stripped)
    return Tracked(stripped, tracked.starts[left:right], tracked.ends[left:right])


def _truncate_tracked(text: str) -> Tracked:
    if len(text) <= MAX_HEAD + MAX_TAIL:
        positions = np.arange(len(text), dtype=np.int64)
        return Tracked(text, positions, positions + 1)
    # Positions of the kept characters only: a 5 MB comment costs no more here than a 4,000-character one.
    tail_start = len(text) - MAX_TAIL
    head = np.arange(MAX_HEAD, dtype=np.int64)
    tail = np.arange(tail_start, len(text), dtype=np.int64)
    gap = np.full(len(TRUNCATION_GAP), MAX_HEAD, dtype=np.int64)
    starts = np.concatenate([head, gap, tail])
    ends = np.concatenate([head + 1, gap, tail + 1])
    return Tracked(_truncate(text), starts, ends)


def _fold_tracked(tracked: Tracked) -> Tracked:
    if tracked.text.isascii():
        return Tracked(tracked.text.lower(), tracked.starts, tracked.ends)
    pieces = [_FOLD[ord(c)] for c in tracked.text]
    lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    return Tracked("".join(pieces), np.repeat(tracked.starts, lengths), np.repeat(tracked.ends, lengths))


def _sub_tracked(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], tracked: Tracked) -> Tracked:
    """pattern.sub(replace, text), carrying each character's input span along."""
    parts: list[str] = []
    starts: list[npt.NDArray[np.int64]] = []
    ends: list[npt.NDArray[np.int64]] = []
    done = 0
    for match in pattern.finditer(tracked.text):
        begin, end = match.span()
        new = replace(match)
        if new == match.group():
            continue
        parts.append(tracked.text[done:begin])
        starts.append(tracked.starts[done:begin])
        ends.append(tracked.ends[done:begin])
        parts.append(new)
        if len(new) == end - begin:
            starts.append(tracked.starts[begin:end])
            ends.append(tracked.ends[begin:end])
        else:
            starts.append(np.full(len(new), tracked.starts[begin], dtype=np.int64))
            ends.append(np.full(len(new), tracked.ends[end - 1], dtype=np.int64))
        done = end
    if done == 0 and not parts:
        return tracked
    parts.append(tracked.text[done:])
    starts.append(tracked.starts[done:])
    ends.append(tracked.ends[done:])
    return Tracked("".join(parts), np.concatenate(starts), np.concatenate(ends))
