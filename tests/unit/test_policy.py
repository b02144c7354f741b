import pytest
from pydantic import ValidationError

from moderation.config import PolicySettings
from moderation.models import BLOCKED_WORD, Comment, CommentScore
from moderation.policy import PhaseResult, PolicyContext, decide, run_phases
from moderation.policy.phases import attack_on_commenter, blocked_words, empty, label_thresholds, trusted_author

SETTINGS = PolicySettings(
    thresholds={"insult": 0.8, "threat": 0.5, "attack_on_commenter": 0.5},
    severity={"threat": 3.0, "insult": 1.5, "attack_on_commenter": 2.5},
    trusted_authors=["blog:7"],
    blocked_words=["buy pills"],
)


def _ctx(
    text: str = "hello", author: str = "ann", author_id: str | None = None, source: str = "blog", **scores: float
) -> PolicyContext:
    attack = scores.pop("attack_on_commenter", None)
    score = CommentScore(scores=scores, attack_on_commenter=attack, attack_target="Bob" if attack else None)
    return PolicyContext(Comment(id="1", text=text, author=author, author_id=author_id), score, SETTINGS, source)


def test_empty_comment_passes() -> None:
    assert empty(_ctx(text="  ")) == PhaseResult(status="passed", explanation="empty comment")
    assert empty(_ctx(text="x")) is None


def test_trusted_registered_user_passes_even_with_high_scores() -> None:
    decision = decide(_ctx().comment, CommentScore({"insult": 0.99}), SETTINGS, "blog")
    assert decision.flagged
    ctx = _ctx(author="Staff", author_id="7", insult=0.99)
    assert trusted_author(ctx) is not None
    assert decide(ctx.comment, ctx.score, SETTINGS, "blog").status == "passed"


def test_guest_named_like_a_trusted_user_is_not_trusted() -> None:
    staff = _ctx(author="Staff", author_id="7")
    guest = _ctx(author="Staff", author_id=None, insult=0.99)
    assert trusted_author(staff) is not None
    assert trusted_author(guest) is None
    assert decide(guest.comment, guest.score, SETTINGS, "blog").flagged


def test_the_same_user_id_on_another_source_is_not_trusted() -> None:
    assert trusted_author(_ctx(author_id="7", source="forum")) is None


def test_a_display_name_in_trusted_authors_is_refused_with_the_form_to_use() -> None:
    with pytest.raises(ValidationError, match=r"'admin' is not a registered user: write <source name>:<user id>"):
        PolicySettings(trusted_authors=["admin"])


def test_blocked_word_flags_as_a_whole_word() -> None:
    assert blocked_words(_ctx(text="Want to BUY PILLS now?")) == PhaseResult(
        reasons={BLOCKED_WORD: 1.0}, explanation="blocked word 'buy pills'"
    )
    assert blocked_words(_ctx(text="buy pillsbury")) is None


def test_label_thresholds_report_only_crossed_labels() -> None:
    result = label_thresholds(_ctx(insult=0.85, threat=0.2, toxicity=0.99))
    assert result is not None and result.reasons == {"insult": 0.85}


def test_attack_phase_names_the_target() -> None:
    result = attack_on_commenter(_ctx(attack_on_commenter=0.7))
    assert result is not None and result.explanation == "attack on Bob"
    assert attack_on_commenter(_ctx(attack_on_commenter=0.3)) is None


def test_first_status_wins_and_reasons_accumulate() -> None:
    phases = [
        lambda ctx: PhaseResult(reasons={"a": 0.5}, explanation="first"),
        lambda ctx: None,
        lambda ctx: PhaseResult(status="passed", reasons={"b": 0.6}),
        lambda ctx: PhaseResult(status="pending", reasons={"never": 1.0}),
    ]
    assert run_phases(_ctx(), phases) == ("passed", {"a": 0.5, "b": 0.6}, ["first"])


def test_threat_outranks_insult_in_priority() -> None:
    insult = decide(_ctx().comment, CommentScore({"insult": 0.95}), SETTINGS)
    threat = decide(_ctx().comment, CommentScore({"threat": 0.6}), SETTINGS)
    assert threat.priority > insult.priority > 0


def test_civil_comment_passes_with_no_reasons() -> None:
    decision = decide(_ctx().comment, CommentScore({"insult": 0.1}, attack_on_commenter=0.05), SETTINGS)
    assert (decision.flagged, decision.status, dict(decision.reasons), decision.priority) == (False, "passed", {}, 0)


def test_attack_decision_carries_the_target() -> None:
    ctx = _ctx(insult=0.9, attack_on_commenter=0.9)
    decision = decide(ctx.comment, ctx.score, SETTINGS)
    assert decision.attack_target == "Bob"
    assert set(decision.reasons) == {"insult", "attack_on_commenter"}


DEFAULTS = PolicySettings()


def _priority(settings: PolicySettings = DEFAULTS, **scores: float) -> float:
    attack = scores.pop("attack_on_commenter", None)
    decision = decide(
        Comment(id="1", text="some words", author="ann"), CommentScore(scores, attack_on_commenter=attack), settings
    )
    assert decision.flagged
    return decision.priority


def test_a_threat_at_0_6_outranks_a_mild_insult_a_toxicity_of_0_99_and_every_other_non_urgent_item() -> None:
    threat = _priority(threat=0.6)
    assert threat > _priority(insult=0.55)
    assert threat > _priority(toxicity=0.99)
    strongest_other = _priority(toxicity=1.0, insult=1.0, identity_attack=1.0, obscene=1.0, attack_on_commenter=1.0)
    assert threat > strongest_other


def test_severe_toxicity_outranks_a_label_weighted_far_above_it() -> None:
    settings = PolicySettings(severity={"severe_toxicity": 0.1, "insult": 10.0})
    assert _priority(settings, severe_toxicity=0.5) > _priority(settings, insult=1.0)


def test_a_blocked_word_ranks_below_a_threat() -> None:
    settings = SETTINGS.model_copy(update={"urgent_labels": ["threat"]})
    blocked = decide(Comment(id="1", text="buy pills", author="ann"), CommentScore({}), settings)
    assert (dict(blocked.reasons), blocked.flagged) == ({"blocked_word": 1.0}, True)
    assert _priority(settings, threat=0.5) > blocked.priority


def test_urgent_items_keep_the_severity_order_among_themselves() -> None:
    assert _priority(threat=0.9) > _priority(threat=0.6) > _priority(severe_toxicity=0.5)


def test_without_urgent_labels_priority_is_the_largest_weight_times_score() -> None:
    settings = PolicySettings(urgent_labels=[])
    assert _priority(settings, threat=0.6) == 1.8
    assert _priority(settings, attack_on_commenter=0.99) == 2.475
