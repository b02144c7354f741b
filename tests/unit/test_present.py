from moderation.config import CommenterRules, PolicySettings
from moderation.models import ATTACK_ON_COMMENTER, POLICY_REASONS, Comment, CommenterRecord, CommentScore
from moderation.policy import decide
from moderation.review.present import LABEL_NAMES, Segment, highlight, reason_name, score_chips, visible_name
from moderation.scoring.accurate import accurate_artifact
from moderation.scoring.fast import FastScorer
from moderation.scoring.lexicon import LexiconScorer


def test_evidence_span_becomes_a_highlighted_segment() -> None:
    assert highlight("Slaven, you're an idiot!", {"insult": [[18, 23]]}) == [
        Segment("Slaven, you're an "),
        Segment("idiot", ("insult",)),
        Segment("!"),
    ]


def test_overlapping_spans_name_every_label_covering_them() -> None:
    segments = highlight("abcdef", {"insult": [[0, 4]], "toxicity": [[2, 6]]})
    assert segments == [Segment("ab", ("insult",)), Segment("cd", ("insult", "toxicity")), Segment("ef", ("toxicity",))]


def test_spans_outside_the_text_or_malformed_are_ignored() -> None:
    assert highlight("short", {"insult": [[3, 99], [-5, 1], [4, 2], ["a", "b"], [1]]}) == [
        Segment("s", ("insult",)),
        Segment("ho"),
        Segment("rt", ("insult",)),
    ]


def test_text_without_evidence_is_one_plain_segment() -> None:
    assert highlight("<script>", {}) == [Segment("<script>")]


def test_flagged_scores_come_first_with_readable_names() -> None:
    chips = score_chips(
        {"toxicity": 0.95, "insult": 0.9, "attack_on_commenter": 0.9}, ["insult", "attack_on_commenter"]
    )
    assert [(c.name, c.percent, c.flagged) for c in chips] == [
        ("Attack on a commenter", 90, True),
        ("Insult", 90, True),
        ("Toxic", 95, False),
    ]


def test_reason_codes_read_as_words() -> None:
    assert reason_name("personal_attack") == "Personal attack"


def _emitted_reasons(labels: tuple[str, ...]) -> set[str]:
    """Every reason the policy emits for a comment that crosses every threshold of a scorer with `labels`."""
    settings = PolicySettings(
        thresholds=dict.fromkeys([*labels, ATTACK_ON_COMMENTER], 0.5),
        blocked_words=["spam"],
        commenters=CommenterRules(rejection_rate=0.5, min_comments=1, review_first=1),
    )
    score = CommentScore(dict.fromkeys(labels, 1.0), attack_on_commenter=1.0, attack_target="Ann")
    comment = Comment(id="1", text="spam", author="bob", author_id="7")
    watched = CommenterRecord("user:7", "always_review", earlier_comments=0, recent_comments=2, recent_rejected=2)
    banned = CommenterRecord("user:7", "banned")
    return {
        *decide(comment, score, settings, "blog", watched, reports=99).reasons,
        *decide(comment, score, settings, "blog", banned).reasons,
    }


def test_every_reason_the_policy_can_emit_has_a_display_name() -> None:
    scorers = {
        "lexicon": LexiconScorer().labels,
        "fast": FastScorer().labels,
        "accurate": accurate_artifact().labels,
        "detoxify": ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"),
    }
    for name, labels in scorers.items():
        reasons = _emitted_reasons(labels)
        assert set(POLICY_REASONS) <= reasons
        assert sorted(reasons - set(LABEL_NAMES)) == [], name


def test_visible_name_shows_bidi_zero_width_and_control_characters() -> None:
    assert visible_name("\u202egrebdniL eeL") == "<U+202E>grebdniL eeL"
    assert visible_name("Lee\u200bLind\u2066berg\ufeff") == "Lee<U+200B>Lind<U+2066>berg<U+FEFF>"
    assert visible_name("a\x1b[2Jb\u3164") == "a<U+001B>[2Jb<U+3164>"


def test_visible_name_keeps_ordinary_names_of_any_script() -> None:
    for name in ("Lee Lindberg", "Zoë O'Brien", "محمد", "李小龍", "Ünal-Çelik_99"):
        assert visible_name(name) == name
