from moderation.review.present import Segment, highlight, reason_name, score_chips, visible_name


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


def test_visible_name_shows_bidi_zero_width_and_control_characters() -> None:
    assert visible_name("\u202egrebdniL eeL") == "<U+202E>grebdniL eeL"
    assert visible_name("Lee\u200bLind\u2066berg\ufeff") == "Lee<U+200B>Lind<U+2066>berg<U+FEFF>"
    assert visible_name("a\x1b[2Jb\u3164") == "a<U+001B>[2Jb<U+3164>"


def test_visible_name_keeps_ordinary_names_of_any_script() -> None:
    for name in ("Lee Lindberg", "Zoë O'Brien", "محمد", "李小龍", "Ünal-Çelik_99"):
        assert visible_name(name) == name
