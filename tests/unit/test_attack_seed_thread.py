"""The seed thread with the shipped fast scorer: the attack on Slaven, and the replies that are not attacks."""

from pathlib import Path

from moderation.config import ScoringSettings, load_settings
from moderation.models import Decision, InThread, Thread
from moderation.policy import decide
from moderation.scoring import load_scorer
from moderation.sources.files import JsonlFileSource

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "examples"


def _decisions() -> dict[str, Decision]:
    """The shipped config's policy over the fast scorer's scores."""
    policy = load_settings(PROJECT_ROOT / "config" / "moderation.toml", environ={}).policy
    batch = JsonlFileSource("examples", EXAMPLES / "seed_thread.jsonl", EXAMPLES / "seed_post.json").fetch(None)
    thread = Thread.of(batch.comments, post=batch.posts[0])
    results = load_scorer("fast", ScoringSettings(scorer="fast")).score([InThread(c, thread) for c in batch.comments])
    return {c.id: decide(c, r, policy) for c, r in zip(batch.comments, results, strict=True)}


def _scores() -> dict[str, tuple[float, str | None]]:
    batch = JsonlFileSource("examples", EXAMPLES / "seed_thread.jsonl", EXAMPLES / "seed_post.json").fetch(None)
    thread = Thread.of(batch.comments, post=batch.posts[0])
    results = load_scorer("fast", ScoringSettings(scorer="fast")).score([InThread(c, thread) for c in batch.comments])
    return {c.id: (r.attack_on_commenter or 0.0, r.attack_target) for c, r in zip(batch.comments, results, strict=True)}


def test_c6_is_an_attack_on_slaven() -> None:
    attack, target = _scores()["c6"]
    assert attack >= 0.5 and target == "Slaven"


def test_the_reply_agreeing_with_lee_is_not_an_attack() -> None:
    attack, target = _scores()["c7"]
    assert attack < 0.2 and target is None


def test_dear_slaven_scores_well_below_the_attack() -> None:
    scores = _scores()
    assert scores["c11"][0] < scores["c6"][0] / 3
    assert scores["c11"][1] is None


def test_no_civil_comment_of_the_thread_is_an_attack() -> None:
    scores = _scores()
    assert [cid for cid in ("c1", "c2", "c3", "c4", "c7", "c8", "c9", "c11") if scores[cid][0] >= 0.5] == []


def test_c6_is_flagged_as_an_attack_on_slaven_by_the_shipped_policy() -> None:
    c6 = _decisions()["c6"]
    assert c6.flagged and "attack_on_commenter" in c6.reasons and c6.attack_target == "Slaven"


def test_no_seed_comment_is_labelled_obscene() -> None:
    # c5 and c10 are hostile (a "traitor", a website "crawling with westerners"), not obscene.
    assert [cid for cid, decision in _decisions().items() if "obscene" in decision.reasons] == []
