"""Whom insulting words are aimed at: one claim per kind of case."""

from moderation.models import Comment, CommentScore, Post, Thread
from moderation.scoring.attack import add_attack
from moderation.scoring.directed import AT_ADDRESSEE, directedness

PARENT = Comment("1", "His family should have been sent to the Gulag.", "Slaven", "p")


def _aim(text: str, *, reply: bool = False, others: tuple[str, ...] = (), post_author: str | None = None):  # type: ignore[no-untyped-def]
    comment = Comment("2", text, "Lee", "p", "1" if reply else None)
    thread = Thread(
        post=Post("p", "Pilot defects", author=post_author),
        comments={"1": PARENT, "2": comment},
        authors={"Slaven", "Lee", *others},
    )
    return directedness(comment, thread)


def test_vocative_name_is_the_target() -> None:
    aim = _aim("Slaven, you're an idiot!")
    assert (aim.value, aim.target, aim.kind) == (AT_ADDRESSEE, "Slaven", "named")


def test_lowercase_possessive_and_at_mentions_name_the_participant() -> None:
    assert _aim("slaven is the dumbest person here").target == "Slaven"
    assert _aim("Slaven's comments are written by an imbecile").target == "Slaven"
    assert _aim("@Mike shut up, clown", others=("Mike",)).target == "Mike"


def test_a_misspelled_name_still_names_the_participant() -> None:
    assert _aim("Slavan you ignorant troll").target == "Slaven"


def test_you_in_a_reply_is_the_parent_author() -> None:
    aim = _aim("You are an idiot and a liar.", reply=True)
    assert (aim.target, aim.kind) == ("Slaven", "reply")


def test_you_at_top_level_is_the_post_author_when_they_take_part() -> None:
    assert _aim("you are a clueless hack", others=("tim",), post_author="tim").target == "tim"
    assert _aim("you are a clueless hack", post_author="tim").target is None  # tim did not comment


def test_the_whole_thread_is_a_group_target() -> None:
    assert _aim("Everyone in this comment section is an idiot.").target == "*"
    assert _aim("You people are all morons.").target == "*"


def test_insulting_a_third_party_is_not_aimed_at_a_participant() -> None:
    assert _aim("Belenko was a traitor and an idiot.").value < 0.5
    assert _aim("The politicians who ran the USSR were morons.", reply=True).value < 0.5


def test_quoting_an_insult_is_not_an_attack() -> None:
    assert _aim("He called me an idiot in another thread.").value < 0.5
    assert _aim("'You idiot' is what my brother yells at the TV every night.").value < 0.5


def test_self_deprecation_is_not_an_attack() -> None:
    assert _aim("I'm such an idiot, I misread the date.").value < 0.5
    assert _aim("You're right, I was stupid to mix those up.", reply=True).value < 0.5


def test_a_pronoun_after_the_insult_starts_a_new_clause() -> None:
    aim = _aim("you're a complete idiot, he did no such thing", reply=True)
    assert (aim.value, aim.target) == (AT_ADDRESSEE, "Slaven")


def test_the_commenter_is_never_their_own_target() -> None:
    assert _aim("Lee, you idiot, that was me all along").target != "Lee"


def test_attack_score_is_insult_times_directedness_with_evidence() -> None:
    comment = Comment("2", "Slaven, you're an idiot!", "Lee", "p")
    thread = Thread(comments={"1": PARENT, "2": comment})
    result = CommentScore(scores={"insult": 0.8})
    add_attack(comment, thread, result)
    assert (result.attack_on_commenter, result.attack_target) == (0.8, "Slaven")
    assert [comment.text[a:b] for a, b in result.evidence["attack_on_commenter"]] == ["Slaven", "idiot"]


def test_civil_disagreement_with_a_low_insult_score_is_not_an_attack() -> None:
    comment = Comment("2", "Slaven, you are wrong about this.", "Lee", "p")
    result = CommentScore(scores={"insult": 0.05})
    add_attack(comment, Thread(comments={"1": PARENT, "2": comment}), result)
    assert result.attack_on_commenter is not None and result.attack_on_commenter < 0.1
    assert result.attack_target is None


def test_a_scorers_auxiliary_attack_output_is_used_in_place_of_its_insult_label() -> None:
    comment = Comment("2", "Slaven, you are wrong about this.", "Lee", "p")
    thread = Thread(comments={"1": PARENT, "2": comment})
    with_attack = CommentScore(scores={"insult": 0.9}, auxiliary={"attack": 0.1})
    insult_only = CommentScore(scores={"insult": 0.9})
    add_attack(comment, thread, with_attack)
    add_attack(comment, thread, insult_only)
    assert with_attack.attack_on_commenter is not None and with_attack.attack_on_commenter <= 0.1
    assert insult_only.attack_on_commenter is not None and insult_only.attack_on_commenter > 0.5
    assert "attack" not in with_attack.all_scores()
