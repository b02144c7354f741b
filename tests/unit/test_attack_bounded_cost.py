"""The thread layer's work per comment is bounded: each scan once, over a capped prefix (no timing)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from moderation.models import Comment, CommentScore, Post, Thread
from moderation.scoring import directed
from moderation.scoring.attack import add_attack
from moderation.scoring.directed import READ_LIMIT, directedness

SCANS = ("TOKEN", "QUOTED", "GROUP_PHRASES", "THIRD_SUBJECT", "REPORTING", "THREAT")


class CountingPattern:
    """A compiled pattern that records the length of every text it is asked to scan."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.scanned: list[int] = []

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        self.scanned.append(len(text))
        return self.pattern.finditer(text)

    def split(self, text: str) -> list[str]:
        self.scanned.append(len(text))
        return self.pattern.split(text)


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> dict[str, CountingPattern]:
    counting = {name: CountingPattern(getattr(directed, name)) for name in SCANS}
    for name, pattern in counting.items():
        monkeypatch.setattr(directed, name, pattern)
    return counting


def _in_thread(text: str) -> tuple[Comment, Thread]:
    parent = Comment("1", "The pilot did the right thing.", "Slaven", "p")
    comment = Comment("2", text, "Lee", "p", "1")
    return comment, Thread(post=Post("p", "Pilot defects"), comments={"1": parent, "2": comment})


def test_each_scan_runs_once_per_comment_however_many_insults_it_has(scans: dict[str, CountingPattern]) -> None:
    comment, thread = _in_thread('you idiot "a b" I\'ll ' * 200)
    insults = [(m.start(), m.end()) for m in re.finditer("idiot", comment.text)]

    aim = directedness(comment, thread, insult_spans=insults)

    assert aim.target == "Slaven"
    assert {name: len(pattern.scanned) for name, pattern in scans.items()} == dict.fromkeys(SCANS, 1)


def test_a_comment_without_insults_is_read_only_for_whom_it_addresses(scans: dict[str, CountingPattern]) -> None:
    comment, thread = _in_thread("Thanks, the committee said they were right. " * 50)

    aim = directedness(comment, thread)

    assert aim.kind == "reply_no_you"
    scanned = {name for name, pattern in scans.items() if pattern.scanned}
    assert scanned == {"TOKEN", "GROUP_PHRASES"}


@pytest.mark.parametrize(
    "text", ["I'll kill you", "I WILL FIND YOU", "i am going to hurt you", "We will destroy you", "I'm gonna end you"]
)
def test_the_threat_scan_is_skipped_only_where_it_cannot_match(text: str) -> None:
    assert directed.THREAT.search(text) is not None
    assert directed._may_threaten(text)
    assert directed._may_threaten(text.replace("I", "İ"))  # not ASCII: always scanned


def test_the_threat_scan_is_skipped_for_text_without_a_future_tense() -> None:
    text = "Kill the bill, I say; we kill it today."

    assert directed.THREAT.search(text) is None
    assert not directed._may_threaten(text)


def test_the_thread_layer_reads_only_the_first_read_limit_characters(scans: dict[str, CountingPattern]) -> None:
    comment, thread = _in_thread("We should talk about the budget. " * 3000 + "Slaven, you idiot.")
    result = CommentScore(scores={"insult": 0.9}, evidence={"insult": [(len(comment.text) - 6, len(comment.text) - 1)]})

    add_attack(comment, thread, result)

    assert len(comment.text) > 20 * READ_LIMIT
    assert max(length for pattern in scans.values() for length in pattern.scanned) == READ_LIMIT
    # The insult lies past what is read, so its tie to Slaven is not seen: it counts as untied, at the reply's author.
    assert result.attack_target == "Slaven"
    assert result.attack_on_commenter == pytest.approx(0.9 * directed.UNTIED["reply_no_you"])
