"""The commenter and reader-report phases alone, and through `decide` (pure: no database)."""

import pytest

from moderation.config import CommenterRules, PolicySettings, ReportRules
from moderation.models import (
    ALWAYS_REVIEW,
    BANNED_COMMENTER,
    NEW_COMMENTER,
    REJECTION_RATE,
    REPORTED,
    Comment,
    CommenterRecord,
    CommentScore,
    Report,
)
from moderation.policy import decide
from moderation.policy.phases import non_urgent_ceiling, priority, report_rule
from moderation.sources.base import parse_reports

SETTINGS = PolicySettings(
    thresholds={"insult": 0.8, "threat": 0.5},
    severity={"threat": 3.0, "insult": 1.5},
    urgent_labels=["threat"],
    commenters=CommenterRules(rejection_rate=0.5, window_days=30, min_comments=4, review_first=2),
    reports=ReportRules(queue_at=3, priority_per_report=0.25, max_priority_boost=1.0),
)
CIVIL = CommentScore({"insult": 0.01, "threat": 0.01})
USER = Comment(id="c1", text="Thanks, good point.", author="Dana", author_id="42")
GUEST = Comment(id="c2", text="Thanks, good point.", author="Dana")


def _record(state: str | None = None, key: str = "user:42", **history: int) -> CommenterRecord:
    return CommenterRecord(key, state, **{"earlier_comments": 10, **history})


def test_a_banned_commenters_comment_is_rejected_without_review() -> None:
    decision = decide(USER, CIVIL, SETTINGS, "blog", _record("banned"))
    assert (decision.status, decision.flagged, dict(decision.reasons)) == ("rejected", False, {BANNED_COMMENTER: 1.0})


def test_an_always_review_commenter_is_queued_even_when_civil() -> None:
    decision = decide(USER, CIVIL, SETTINGS, "blog", _record("always_review"))
    assert decision.flagged and ALWAYS_REVIEW in decision.reasons


def test_a_trusted_commenter_passes_an_insult() -> None:
    decision = decide(USER, CommentScore({"insult": 0.95}), SETTINGS, "blog", _record("trusted"))
    assert decision.status == "passed"


def test_trust_never_passes_a_threat() -> None:
    decision = decide(USER, CommentScore({"threat": 0.9}), SETTINGS, "blog", _record("trusted"))
    assert decision.flagged and "threat" in decision.reasons
    assert "trusted author blog:42, but threat" in decision.explanation


def test_trust_is_never_taken_from_a_display_name() -> None:
    # a guest typing a trusted user's name, or a record for an e-mail identity, is not trusted
    named = Comment(id="c3", text="x", author="blog:42")
    settings = SETTINGS.model_copy(update={"trusted_authors": ["blog:42"]})
    assert decide(named, CommentScore({"insult": 0.95}), settings, "blog").flagged
    email = _record("trusted", key="email:" + "a" * 64)
    assert decide(GUEST, CommentScore({"insult": 0.95}), SETTINGS, "blog", email).flagged
    # a record that names another user than the comment's author does not lend its trust
    assert decide(USER, CommentScore({"insult": 0.95}), SETTINGS, "blog", _record("trusted", key="user:7")).flagged


def test_a_commenter_over_the_rejection_rate_is_queued_for_a_civil_comment() -> None:
    decision = decide(USER, CIVIL, SETTINGS, "blog", _record(recent_comments=4, recent_rejected=2))
    assert decision.flagged and decision.reasons[REJECTION_RATE] == 0.5
    assert not decide(USER, CIVIL, SETTINGS, "blog", _record(recent_comments=4, recent_rejected=1)).flagged


def test_the_rejection_rate_waits_for_min_comments_and_is_off_unless_set() -> None:
    assert not decide(USER, CIVIL, SETTINGS, "blog", _record(recent_comments=3, recent_rejected=3)).flagged
    off = SETTINGS.model_copy(update={"commenters": CommenterRules()})
    assert not decide(USER, CIVIL, off, "blog", _record(recent_comments=9, recent_rejected=9)).flagged


def test_a_new_commenters_first_comments_are_reviewed_when_enabled() -> None:
    assert NEW_COMMENTER in decide(USER, CIVIL, SETTINGS, "blog", _record(earlier_comments=1)).reasons
    assert not decide(USER, CIVIL, SETTINGS, "blog", _record(earlier_comments=2)).flagged
    off = SETTINGS.model_copy(update={"commenters": CommenterRules()})
    assert not decide(USER, CIVIL, off, "blog", _record(earlier_comments=0)).flagged


def test_enough_reader_reports_queue_a_clean_comment() -> None:
    assert not decide(USER, CIVIL, SETTINGS, "blog", reports=2).flagged
    decision = decide(USER, CIVIL, SETTINGS, "blog", reports=3)
    assert decision.flagged and decision.reasons[REPORTED] == 3.0


def test_trust_never_passes_a_comment_readers_reported_enough() -> None:
    assert decide(USER, CIVIL, SETTINGS, "blog", _record("trusted"), reports=3).flagged


def test_reports_raise_a_queued_items_priority_but_never_above_an_urgent_one() -> None:
    insult = decide(USER, CommentScore({"insult": 0.9}), SETTINGS, "blog")
    reported = decide(USER, CommentScore({"insult": 0.9}), SETTINGS, "blog", reports=1)
    assert reported.reasons[REPORTED] == 1.0 and reported.priority == insult.priority + 0.25
    most = priority({"insult": 1.0, REPORTED: 100.0}, SETTINGS)
    assert most == non_urgent_ceiling(SETTINGS)
    assert priority({"threat": 0.5}, SETTINGS) > most


def test_the_report_rule_says_when_reports_queue_and_what_they_add() -> None:
    rule = report_rule(SETTINGS)
    assert (rule(2).queues, rule(3).queues) == (False, True)
    assert (rule(2).boost, rule(40).boost) == (0.5, 1.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, (Report(3),)),
        ("2", (Report(2),)),
        ("", ()),
        ({"count": 3, "reasons": ["spam"]}, (Report(1, "spam"), Report(2))),
        ('{"count": 1, "reasons": ["spam", "abuse"]}', (Report(1, "spam"), Report(1, "abuse"))),
        ([{"reason": "abuse", "reporter": "r9"}, "spam"], (Report(1, "abuse", "r9"), Report(1, "spam"))),
    ],
)
def test_reports_are_read_in_each_documented_form(value: object, expected: tuple[Report, ...]) -> None:
    assert parse_reports(value) == expected


@pytest.mark.parametrize("value", [-1, True, "lots", {"count": "3"}, {"reasons": "spam"}, [3.5]])
def test_malformed_reports_are_refused_with_the_forms_they_may_take(value: object) -> None:
    with pytest.raises(ValueError):
        parse_reports(value)
