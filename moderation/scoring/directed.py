"""Whom a comment's insulting words are aimed at, from its wording and its thread.

A pure function of one comment, its parent and the thread's author list: the cost per comment does not
grow with the thread (names are looked up in a dict by token, not scanned one by one), and it is bounded
however long the comment is: only its first READ_LIMIT characters are read, each scan of them (tokens,
mentions, quotes, insulting words) is done at most once, and each insult looks only at the mentions and
quotes around it. Most comments have no insulting word: for them only the tokens and group phrases are
read (who is addressed), not third parties, reported speech or quotes, which only place an insult.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

from moderation.models import Comment, Span, Thread
from moderation.scoring.lexicon import collapse
from moderation.scoring.normalise import MAX_HEAD, MAX_TAIL

GROUP = "*"
# One group, so that TOKEN.split gives the tokens and the text between them (see _Tokens).
TOKEN = re.compile(r"([@\w'’*$]+)", re.UNICODE)
SENTENCE_END = re.compile(r"[.!?;\n]+(\s|$)")
LINK_DISTANCE = 60  # characters between an insulting word and who it is said of, within one sentence
# The thread layer reads a comment's first READ_LIMIT characters: every comment the fast model reads whole
# (up to MAX_HEAD + MAX_TAIL characters, scoring/normalise.py) is read whole here too, and a longer one is
# read as far as the model's head and then some. Insults the model finds further on count as untied.
READ_LIMIT = MAX_HEAD + MAX_TAIL

# How surely an insult is aimed at someone in the thread, by what it is tied to.
AT_ADDRESSEE = 1.0
AT_SELF = 0.4
REPORTED = 0.3
AT_THIRD_PERSON = 0.45
# When no insulting word is found (the model's signal comes from elsewhere), by who is addressed.
UNTIED = {
    "named": 0.85,
    "group": 0.85,
    "reply": 0.85,
    "post_author": 0.75,
    "you": 0.75,
    "reply_no_you": 0.4,
    "you_in_thread": 0.5,
    "none": 0.3,
    "unknown": 0.85,
}
STANDALONE = ("unknown", "you")  # a comment with no parent and nobody else known in its thread
# "you_in_thread": "you" at top level in a thread with other participants, none of them named: the
# readers at large ("people like you are ruining this country") as often as one commenter.
# "none": nobody addressed although the thread has other participants, so probably a third party;
# "unknown": a comment seen without its thread (no parent, nobody else known), as in most labelled data,
# where an insult is usually aimed at whoever the comment answers.

SECOND_PERSON = {"you", "your", "you're", "youre", "you’re", "yours", "yourself", "u", "ur", "ya", "yall", "y'all"}
FIRST_PERSON = {"i", "i'm", "im", "i’m", "me", "my", "myself", "i've", "i’d", "i'd"}
THIRD_PERSON = {"he", "she", "they", "him", "her", "them", "his", "their", "he's", "she's", "they're", "whoever"}
PRONOUNS = (("you", SECOND_PERSON), ("self", FIRST_PERSON), ("third", THIRD_PERSON))
GROUP_PHRASES = re.compile(
    r"\b(every(one|body|\s+single\s+one\s+of\s+you)|all\s+of\s+you|you\s+(people|guys|all|lot)|y'?all"
    r"|(this|the)\s+comments?(\s+section)?|commenters|people\s+(in|on)\s+here|bunch\s+of\s+\w+(\s+\w+)?\s+(in|on)\s+here)\b",
    re.IGNORECASE,
)
REPORTING = re.compile(
    r"\b(call(ed|s|ing)?\s+(me|him|her|them|us|my)|said\s+(i|he|she|they|we)\s+(was|were|am|is|are)"
    r"|yells?\s+at|according\s+to|the\s+headline|literally\s+says)\b",
    re.IGNORECASE,
)
# "The politicians who ran the USSR were ...", "this guy is ...": a third party as the subject.
THIRD_SUBJECT = re.compile(r"\b(the|those|these|that|this|some)\s+(\w+\s+){1,5}?(was|were|is|are)\b", re.IGNORECASE)
THREAT = re.compile(
    r"\b(i('ll|’ll| will| am going to|'m going to|'m gonna| shall)|we('ll| will))\s+(\w+\s+(you|u)\s+and\s+)?"
    r"(?P<verb>kill|hurt|beat|stab|shoot|find|hunt|destroy|end)\b",
    re.IGNORECASE,
)
QUOTED = re.compile(r"[\"'‘“]([^\"'’”]{1,60})[\"'’”]")

INSULT_WORDS = {
    collapse(word)
    for word in (
        "idiot",
        "idiots",
        "idiotic",
        "idiocy",
        "moron",
        "morons",
        "moronic",
        "stupid",
        "stupidest",
        "dumb",
        "dumbest",
        "dumbass",
        "loser",
        "losers",
        "fool",
        "fools",
        "foolish",
        "imbecile",
        "cretin",
        "jerk",
        "clown",
        "clowns",
        "dimwit",
        "halfwit",
        "nitwit",
        "ignorant",
        "pathetic",
        "scum",
        "scumbag",
        "troll",
        "trolls",
        "retard",
        "retarded",
        "coward",
        "liar",
        "muppet",
        "brainless",
        "brainwashed",
        "clueless",
        "worthless",
        "disgusting",
        "creep",
        "psycho",
        "hack",
        "dipshit",
        "asshole",
        "bastard",
        "bitch",
        "douche",
        "douchebag",
        "pig",
        "rat",
        "snake",
        "parasite",
        "vermin",
        "garbage",
        "trash",
        "twat",
        "wanker",
        "prick",
        "dick",
        "shut",
        "stfu",
        "crawl",
        "pea",
        "beating",
    )
}


class Mention(NamedTuple):  # a tuple: comments have dozens, made and read in the hot loop
    kind: str  # "you", "named", "group", "self", "third", "reported"
    span: Span
    name: str | None = None


@dataclass(frozen=True)
class Directedness:
    value: float
    target: str | None
    kind: str
    spans: tuple[Span, ...] = field(default=())
    tied_word: bool = False
    """An insulting word of our own list is said of the addressee ("you're a clown", "Slaven, idiot")."""


def directedness(comment: Comment, thread: Thread, insult_spans: Iterable[Span] = ()) -> Directedness:
    words = _Words.of(comment.text[:READ_LIMIT], _NameIndex.of(thread.participant_names))
    listed = set(words.insult_words())
    insults = sorted(set(insult_spans) | listed)
    if not insults:
        # Only who is addressed matters: no third parties, reported speech or quotes to read.
        addressee = _addressee(comment, thread, words.mentions(comment.author, addressing_only=True))
        return Directedness(UNTIED[addressee.kind], addressee.name, addressee.kind, _spans(addressee))
    scan = _Scan.of(words, comment.author)
    addressee = _addressee(comment, thread, scan.mentions)
    aims = [_aim(scan, span, addressee, listed=span in listed) for span in insults]
    best = max(aims, key=lambda d: (d.value, d.tied_word))
    if addressee.kind in STANDALONE and best.value < UNTIED["unknown"]:
        # Without a thread, wording alone says little about whom an insult is for: on kaggle_insults.train
        # the comments our cues call self-deprecating or third-party are insults at a participant as often
        # as the rest. Those cues only lower the score when the thread gives someone else to aim at.
        return Directedness(UNTIED["unknown"], None, best.kind, best.spans, best.tied_word)
    return best


# ---- one pass over the text ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Words:
    """A comment's tokens, which of them may say who is addressed, and its insulting words: what every
    comment needs, insulted or not."""

    text: str
    tokens: _Tokens
    names: _NameIndex
    addressing: list[int]
    """Tokens that may say who is addressed: pronouns, handles, capitalised words, participants' names."""
    insulting: list[int]
    """Tokens that are insulting words (INSULT_WORDS)."""

    @classmethod
    def of(cls, text: str, names: _NameIndex) -> _Words:
        tokens = _Tokens.of(text)
        return cls(text, tokens, names, *_classify(tokens, names))

    def insult_words(self) -> list[Span]:
        return list(_insult_words(self.text, self.tokens, self.insulting))

    def mentions(self, author: str, *, addressing_only: bool = False) -> list[Mention]:
        """Mentions of anyone but `author`, in the order `_mentions` finds them; with addressing_only,
        only those that can make someone the addressee (groups, participants, handles, pronouns)."""
        found = _mentions(self.text, self.tokens, self.addressing, self.names, addressing_only)
        return [m for m in found if m.name != author]


@dataclass(frozen=True)
class _Scan:
    """What is read from a comment's text, each scan done once; lookups around a span by bisection."""

    text: str
    mentions: list[Mention]
    """Participants, groups, pronouns and reporting phrases, in the order `_mentions` finds them."""
    quoted: list[Span]
    """Quoted phrases, in text order and not overlapping."""
    by_start: list[tuple[int, int]]
    """(start, index in mentions) for every mention, in text order."""
    longest: int

    @classmethod
    def of(cls, words: _Words, author: str) -> _Scan:
        mentions = words.mentions(author)
        return cls(
            words.text,
            mentions,
            _quoted_spans(words.text),
            sorted((m.span[0], i) for i, m in enumerate(mentions)),
            max((m.span[1] - m.span[0] for m in mentions), default=0),
        )

    def nearby(self, insult: Span) -> list[Mention]:
        """Mentions within LINK_DISTANCE of `insult` and in its sentence, in the order of `mentions`."""
        low = bisect_left(self.by_start, (insult[0] - LINK_DISTANCE - self.longest, -1))
        high = bisect_right(self.by_start, (insult[1] + LINK_DISTANCE, len(self.mentions)))
        near = sorted(index for _, index in self.by_start[low:high])
        return [
            m
            for m in (self.mentions[i] for i in near)
            if _distance(insult, m.span) <= LINK_DISTANCE and _same_sentence(self.text, insult, m.span)
        ]

    def is_quoted(self, insult: Span) -> bool:
        # Quotes do not overlap, so only the last one starting at or before the insult can hold it.
        index = bisect_right(self.quoted, insult[0], key=_start) - 1
        return index >= 0 and _inside(insult, self.quoted[index])


# ---- who is addressed ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Addressee:
    kind: str
    name: str | None
    span: Span | None


def _addressee(comment: Comment, thread: Thread, mentions: list[Mention]) -> _Addressee:
    named = [m for m in mentions if m.kind == "named"]
    if named:
        return _Addressee("named", named[0].name, named[0].span)
    group = [m for m in mentions if m.kind == "group"]
    if group:
        return _Addressee("group", GROUP, group[0].span)
    you = next((m for m in mentions if m.kind == "you"), None)
    parent = thread.parent_of(comment)
    if parent is not None and parent.author and parent.author != comment.author:
        return _Addressee("reply" if you else "reply_no_you", parent.author, you.span if you else None)
    post_author = thread.post.author if thread.post else None
    if you is not None and post_author and post_author != comment.author and post_author in thread.authors:
        return _Addressee("post_author", post_author, you.span)
    alone = parent is None and not (thread.participant_names - {comment.author})
    if you is not None:
        return _Addressee("you" if alone else "you_in_thread", None, you.span)
    return _Addressee("unknown" if alone else "none", None, None)


@dataclass(frozen=True)
class _Tokens:
    """A text's tokens (TOKEN's runs) and where they are, from one TOKEN.split of the text."""

    words: list[str]
    bounds: list[int]
    """Offsets of the split's pieces: words[i] is text[bounds[2 * i + 1] : bounds[2 * i + 2]]."""

    @classmethod
    def of(cls, text: str) -> _Tokens:
        pieces = TOKEN.split(text)  # text between tokens, token, text between tokens, ..., text after
        return cls(pieces[1::2], list(accumulate(map(len, pieces), initial=0)))

    def span(self, index: int) -> Span:
        return self.bounds[2 * index + 1], self.bounds[2 * index + 2]

    def start(self, index: int) -> int:
        return self.bounds[2 * index + 1]

    def end(self, index: int) -> int:
        return self.bounds[2 * index + 2]


def _classify(tokens: _Tokens, names: _NameIndex) -> tuple[list[int], list[int]]:
    """Indices of the tokens that may say who is addressed (pronouns, handles, capitalised words,
    participants' names), and of the insulting words. Most tokens are neither: one cached lookup each."""
    addressing: list[int] = []
    insulting: list[int] = []
    exact = names.exact
    for index, word in enumerate(tokens.words):
        token = _token(word)
        if token.insult:
            insulting.append(index)
        if not token.plain or token.key in exact:
            addressing.append(index)
    return addressing, insulting


def _mentions(
    text: str, tokens: _Tokens, addressing: list[int], names: _NameIndex, addressing_only: bool = False
) -> Iterable[Mention]:
    groups = [match.span() for match in GROUP_PHRASES.finditer(text)]
    for span in groups:
        yield Mention("group", span, GROUP)
    if not addressing_only:
        for match in THIRD_SUBJECT.finditer(text):
            if not _touches_any(match.span(), groups):
                yield Mention("third", match.span())
        for match in REPORTING.finditer(text):
            yield Mention("reported", match.span())
    for index in addressing:  # the other words: no pronoun, no handle, not capitalised, nobody's name
        word = tokens.words[index]
        token = _token(word)
        if token.pronoun is not None:
            yield Mention(token.pronoun, tokens.span(index))
            continue
        name = names.find(tokens, index, token)
        if name is not None:
            yield Mention("named", name[1], name[0])
        elif token.handle:
            yield Mention("named", tokens.span(index), word[1:])  # a handle we have not seen comment
        elif addressing_only:
            continue
        elif token.name_like and index > 0 and not _starts_sentence(text, tokens.start(index)):
            yield Mention("third", tokens.span(index))  # a capitalised name that is not a participant


class _Token(NamedTuple):  # a tuple: cheap to make for every new word
    """What a token's spelling says, whatever the thread."""

    pronoun: str | None
    """"you", "self" or "third" for a personal pronoun."""
    key: str
    """Lower case without a possessive "'s" or a leading "@": how participants' names are looked up."""
    capitalised: bool
    handle: bool
    """An "@name" handle."""
    name_like: bool
    """Capitalised like a name (see _looks_like_a_name)."""
    insult: bool
    """One of INSULT_WORDS, spelling games undone."""
    plain: bool
    """Says nothing about who is addressed unless it is a participant's name."""


@lru_cache(maxsize=65536)
def _token(spelling: str) -> _Token:
    """Cached: natural comments reuse their words, so most tokens cost a dict lookup here."""
    word = spelling.lower().strip("'’")
    pronoun = (
        "you"
        if word in SECOND_PERSON
        else "self"
        if word in FIRST_PERSON
        else "third"
        if word in THIRD_PERSON
        else None
    )
    key = spelling.lower()
    key = (key[:-2] if key.endswith(("'s", "’s")) else key).lstrip("@")
    handle = spelling.startswith("@") and len(spelling) > 2
    insult = _is_insult_word(spelling.strip("'’"))
    capitalised, name_like = spelling[:1].isupper(), _looks_like_a_name(spelling)
    plain = pronoun is None and not (handle or capitalised or name_like)
    return _Token(pronoun, key, capitalised, handle, name_like, insult, plain)


def _looks_like_a_name(token: str) -> bool:
    return len(token) >= 3 and token.istitle() and not _is_insult_word(token)


def _starts_sentence(text: str, position: int) -> bool:
    """Whether the last non-space character before `position` ends a sentence (or there is none)."""
    last = position - 1
    while last >= 0 and text[last].isspace():  # only the spaces just before: linear over all tokens
        last -= 1
    return last < 0 or text[last] in '.!?:"“'


def _touches_any(span: Span, spans: list[Span]) -> bool:
    """Whether `span` overlaps or touches one of `spans` (in text order, not overlapping)."""
    index = bisect_right(spans, span[1], key=_start) - 1
    return index >= 0 and spans[index][1] >= span[0]


# ---- what the insulting words are tied to ----------------------------------------------------------


def _aim(scan: _Scan, insult: Span, addressee: _Addressee, *, listed: bool) -> Directedness:
    if scan.is_quoted(insult):
        return Directedness(REPORTED, None, "quoted", (insult,))
    nearby = scan.nearby(insult)
    if not nearby:
        value = UNTIED[addressee.kind]
        return Directedness(value, addressee.name, addressee.kind, (insult, *_spans(addressee)))
    nearest = min(nearby, key=lambda m: (_link_distance(insult, m), _PRIORITY[m.kind]))
    if nearest.kind == "reported" or any(m.kind == "reported" for m in nearby):
        return Directedness(REPORTED, None, "reported", (insult,))
    if nearest.kind == "self":
        return Directedness(AT_SELF, None, "self", (insult,))
    if nearest.kind == "third":
        return Directedness(AT_THIRD_PERSON, None, "third", (insult,))
    if nearest.kind == "named":
        return Directedness(AT_ADDRESSEE, nearest.name, "named", (insult, nearest.span), listed)
    if nearest.kind == "group":
        return Directedness(AT_ADDRESSEE, GROUP, "group", (insult, nearest.span), listed)
    # "you": the person the comment addresses (named, group, parent's author, post author) or nobody known
    spans = (insult, *(_spans(addressee) if addressee.kind in ("named", "group") else (nearest.span,)))
    value = UNTIED["you_in_thread"] if addressee.kind == "you_in_thread" else AT_ADDRESSEE
    return Directedness(value, addressee.name, addressee.kind, spans, listed)


def _link_distance(insult: Span, mention: Mention) -> int:
    """Insults mostly follow who they are said of ("you're an idiot", "Brezhnev was a fool"); a pronoun
    after the insulting word usually starts a new clause ("you idiot, he did no such thing")."""
    after = mention.span[0] >= insult[1]
    return _distance(insult, mention.span) + (AFTER_PENALTY if after and mention.kind in ("self", "third") else 0)


AFTER_PENALTY = 30
_PRIORITY = {"named": 0, "group": 1, "you": 2, "reported": 3, "self": 4, "third": 5}


def _quoted_spans(text: str) -> list[Span]:
    return [m.span() for m in QUOTED.finditer(text) if " " in m.group(1)]


def _insult_words(text: str, tokens: _Tokens, insulting: list[int]) -> Iterable[Span]:
    if _may_threaten(text):
        for match in THREAT.finditer(text):
            yield match.span("verb")
    yield from (tokens.span(index) for index in insulting)


# THREAT needs one of these (its "'ll", " will", "going to", "gonna" or " shall"). In ASCII text, matching
# them in lower case is matching them case-insensitively; other text is always scanned.
THREAT_NEEDS = ("'ll", "will", "going to", "gonna", "shall")


def _may_threaten(text: str) -> bool:
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(needed in lowered for needed in THREAT_NEEDS)


@lru_cache(maxsize=65536)
def _is_insult_word(token: str) -> bool:
    """Whether a token is one of INSULT_WORDS, spelling games undone; cached, as comments reuse their words."""
    return collapse(token) in INSULT_WORDS


def _spans(addressee: _Addressee) -> tuple[Span, ...]:
    return (addressee.span,) if addressee.span is not None else ()


def _start(span: Span) -> int:
    return span[0]


def _inside(inner: Span, outer: Span) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _distance(a: Span, b: Span) -> int:
    return max(0, max(a[0], b[0]) - min(a[1], b[1]))


def _same_sentence(text: str, a: Span, b: Span) -> bool:
    start, end = min(a[1], b[1]), max(a[0], b[0])
    return start >= end or SENTENCE_END.search(text, start, end) is None


# ---- participant names -----------------------------------------------------------------------------


class _NameIndex:
    """Participants' names by their first word (lowercase), plus near-misses for misspellings."""

    def __init__(self, names: frozenset[str]) -> None:
        self.exact: dict[str, list[tuple[list[str], str]]] = {}
        self.fuzzy: dict[tuple[str, int], list[str]] = {}
        for name in names:
            words = name.lower().split()
            if not words or len(words[0]) < 2:
                continue
            self.exact.setdefault(words[0].lstrip("@"), []).append((words, name))
            if len(words[0]) >= 5:
                self.fuzzy.setdefault((words[0][0], len(words[0])), []).append(name)

    @classmethod
    def of(cls, names: frozenset[str]) -> _NameIndex:
        return _cached_index(names)  # a thread's frozenset caches its hash: this is a dict lookup

    def find(self, tokens: _Tokens, index: int, spelling: _Token) -> tuple[str, Span] | None:
        """The participant named at tokens[index]: "Slaven", "@slaven", "Slaven's", "Lee Lindberg", "Lee"."""
        word = spelling.key
        for words, name in self.exact.get(word, []):
            following = [t.lower() for t in tokens.words[index + 1 : index + len(words)]]
            end = tokens.end(index + len(words) - 1) if following == words[1:] else tokens.end(index)
            return name, (tokens.start(index), end)
        if spelling.capitalised and len(word) >= 5 and self.fuzzy:
            for length in (len(word) - 1, len(word), len(word) + 1):
                for name in self.fuzzy.get((word[0], length), []):
                    if _one_edit_apart(word, name.lower().split()[0]):
                        return name, tokens.span(index)
        return None


@lru_cache(maxsize=256)
def _cached_index(names: frozenset[str]) -> _NameIndex:
    return _NameIndex(names)


def _one_edit_apart(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
