"""Text normalisation for the fast scorer: what the model sees, and the map back to the original."""

from __future__ import annotations

import pytest

from moderation.scoring import normalise as normalise_module
from moderation.scoring.normalise import MAX_HEAD, MAX_TAIL, normalise, normalise_tracked


def test_letters_repeated_three_times_collapse_to_one() -> None:
    assert normalise("You are STUUUPID") == "you are stupid"


def test_leetspeak_between_letters_becomes_letters() -> None:
    assert normalise("what an id1ot, a total n00b") == "what an idiot, a total noob"


def test_numbers_and_ordinals_are_not_leetspeak() -> None:
    assert normalise("In 2017 the 3rd of 40 jets") == "in 2017 the 3rd of 40 jets"


@pytest.mark.parametrize(
    ("masked", "word"),
    [
        ("f***", "fuck"),
        ("f**k", "fuck"),
        ("sh!t", "shit"),
        ("a$$hole", "asshole"),
        ("b*tch", "bitch"),
        ("id*ot", "idiot"),
    ],
)
def test_masked_swears_read_as_the_word(masked: str, word: str) -> None:
    assert normalise(f"you {masked}!") == f"you {word}!"


def test_stars_that_mask_no_known_word_are_kept() -> None:
    assert normalise("rated 5* by x*y") == "rated 5* by x*y"


def test_full_width_styled_and_accented_letters_fold_to_ascii() -> None:
    assert normalise("Ｉｄｉｏｔ 𝐢𝐝𝐢𝐨𝐭 ìdiöt") == "idiot idiot idiot"


def test_cyrillic_look_alike_letters_fold_to_latin() -> None:
    assert normalise("іdіоt") == "idiot"


def test_html_entities_and_typographic_quotes_are_decoded() -> None:
    assert normalise("you&rsquo;re &amp; you’re") == "you're & you're"


def test_links_and_handles_become_placeholders() -> None:
    assert normalise("@Mike see https://example.com/a?b=1 now") == "@user see url now"


def test_invisible_characters_are_dropped() -> None:
    assert normalise("id\u200biot") == "idiot"


def test_very_long_text_keeps_its_head_and_tail_only() -> None:
    text = "a b " * 10_000 + "the end"
    result = normalise(text)
    assert len(result) <= MAX_HEAD + MAX_TAIL + 1
    assert result.endswith("the end")


@pytest.mark.parametrize(
    "text",
    [
        "Slaven, you’re an id1ot!!!!",
        "ＦＵＬＬ width &amp; https://x.org/y @bob f***ing stuuupid",
        "İstanbul ﬁne \u200b zero",
        "x" * 5000 + " tail id1ot",
        "  leading and trailing  ",
    ],
)
def test_tracked_normalisation_gives_the_same_text(text: str) -> None:
    assert normalise_tracked(text).text == normalise(text)


def test_tracked_spans_point_at_the_original_characters() -> None:
    original = "Slaven, you’re an ID1OT!!!!"
    tracked = normalise_tracked(original)
    start = tracked.text.index("idiot")
    begin, end = tracked.original_span(start, start + len("idiot"))
    assert original[begin:end] == "ID1OT"


def test_tracked_span_of_a_collapsed_run_covers_the_whole_run() -> None:
    original = "so stuuuupid"
    tracked = normalise_tracked(original)
    start = tracked.text.index("stupid")
    begin, end = tracked.original_span(start, start + len("stupid"))
    assert original[begin:end] == "stuuuupid"


TRICKY = [
    "Go to https://example.com/x?a=1 or www.example.org now",
    "@mike and @@double and e@mail.com",
    "f***ing sh!t you id*ot, great!! wow!really a$$hole 100% #1 b!tch",
    "id1ot n00b l33t |ol 5tupid 7rash h4te 3vil",
    "stuuuupid!!!! ???? ... ----",
    "tabs\tand\nnew lines\r\n  double  spaces \u00a0nbsp\u2003em space\x1c",
    "ＦＵＬＬ ｗｉｄｔｈ ƒuck İstanbul ſhit Кирилл",
    "plain text with nothing to change",
    "",
    "!",
    "trailing bang! and mid!word and !lead",
]


def _every_rule(text: str) -> str:
    """normalise with every rule always applied: what its quick tests may skip must not matter."""
    text = normalise_module._truncate(text)
    text = normalise_module.ENTITY.sub(normalise_module._entity, text) if "&" in text else text
    text = text.lower() if text.isascii() else text.translate(normalise_module._FOLD)
    for pattern, replace in normalise_module.RULES:
        text = pattern.sub(replace, text)
    return text.strip(" ")


@pytest.mark.parametrize("text", TRICKY)
def test_skipping_rules_that_cannot_apply_changes_nothing(text: str) -> None:
    assert normalise(text) == _every_rule(text)
    assert normalise_tracked(text).text == normalise(text)
