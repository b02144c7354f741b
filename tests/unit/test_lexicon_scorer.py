from pathlib import Path

from moderation.config import ScoringSettings
from moderation.models import Comment, InThread, Thread
from moderation.scoring import load_scorer
from moderation.scoring.lexicon import LexiconScorer
from moderation.sources.files import JsonlFileSource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _seed() -> tuple[dict[str, Comment], Thread]:
    batch = JsonlFileSource("examples", EXAMPLES / "seed_thread.jsonl", EXAMPLES / "seed_post.json").fetch(None)
    return {c.id: c for c in batch.comments}, Thread.of(batch.comments, post=batch.posts[0])


def test_insult_evidence_points_at_the_word() -> None:
    text = "Honestly, you absolute iiidiot."
    result = LexiconScorer().score_texts([text])[0]
    ((start, end),) = result.evidence["insult"]
    assert text[start:end] == "iiidiot"
    assert result.scores["insult"] > 0.5 > result.scores["obscene"]


def test_leetspeak_and_masked_swears_match() -> None:
    scores = LexiconScorer().score_texts(["what an 1d10t", "f*** this", "a nice day"])
    assert [s.scores["insult"] > 0.5 for s in scores] == [True, False, False]
    assert [s.scores["obscene"] > 0.5 for s in scores] == [False, True, False]


def test_seed_attack_is_on_slaven_and_the_agreeing_reply_is_not_an_attack() -> None:
    comments, thread = _seed()
    scorer = load_scorer("lexicon", ScoringSettings())
    c6, c7, c11 = scorer.score([InThread(comments[i], thread) for i in ("c6", "c7", "c11")])
    assert c6.attack_target == "Slaven" and c6.attack_on_commenter is not None and c6.attack_on_commenter >= 0.5
    assert c7.attack_on_commenter is not None and c7.attack_on_commenter < 0.5
    assert c11.attack_on_commenter is not None and c11.attack_on_commenter < c6.attack_on_commenter
