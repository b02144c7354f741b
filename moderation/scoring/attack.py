"""Attack on a fellow commenter: how insulting a comment is, times how surely it is aimed at someone in the thread.

attack_on_commenter = insult x directedness. The insult probability comes from the text scorer: its
auxiliary `attack` output where it has one, else its `insult` label, else `toxicity`. Directedness comes
from the thread and the wording:

- who is addressed: a participant named in the text ("Slaven, ...", "Dear Slaven", "@mike", "Slaven's",
  a misspelled "Slavan"), the thread as a whole ("everyone in this comment section", "you people"),
  the parent comment's author for "you" in a reply, the post's author for "you" at top level when they
  take part, or nobody in particular;
- whether the insulting words are tied to that addressee ("you're an idiot", "Slaven is a moron"), or
  to the writer ("I'm such an idiot"), to someone quoted ("he called me an idiot"), or to a third
  person ("Brezhnev was a fool").

Everything is computed from the comment, its parent and the thread's author list, so the cost per
comment does not grow with the thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from moderation.models import Comment, CommentScore, InThread, Thread
from moderation.scoring.directed import Directedness, directedness
from moderation.scoring.protocols import TextScorer

ATTACK_VERSION = "3"
GROUP_TARGET = "*"
TIED_WORD_INSULT = 0.6
# Below this attack score nobody is named as a target: addressing someone is not attacking them.
TARGET_MIN_SCORE = 0.3


class ThreadAwareScorer:
    """Wraps a text scorer; adds attack_on_commenter, attack_target and the attack's evidence."""

    def __init__(self, text_scorer: TextScorer) -> None:
        self.text_scorer = text_scorer
        self.name = text_scorer.name
        self.version = f"{text_scorer.version}+thread{ATTACK_VERSION}"
        self.labels = text_scorer.labels

    def score(self, batch: Sequence[InThread]) -> list[CommentScore]:
        results = self.text_scorer.score_texts([item.comment.text for item in batch])
        for item, result in zip(batch, results, strict=True):
            add_attack(item.comment, item.thread, result)
        return results


def add_attack(comment: Comment, thread: Thread, result: CommentScore) -> None:
    aim = directedness(comment, thread, insult_spans=result.evidence.get("insult", []))
    insult = insult_signal(result)
    if aim.tied_word:
        # Models miss rarer name-calling ("muppet", "imbecile"); said of the addressee, it is an insult.
        insult = max(insult, TIED_WORD_INSULT)
    result.attack_on_commenter = round(insult * aim.value, 6)
    result.attack_target = aim.target if result.attack_on_commenter >= TARGET_MIN_SCORE else None
    if result.attack_target is not None:
        result.evidence["attack_on_commenter"] = sorted(set(aim.spans))


def insult_signal(result: CommentScore) -> float:
    """The scorer's `attack` output (insults aimed at a participant) where it has one, else its insult score."""
    scores = result.scores
    if "attack" in result.auxiliary:
        return max(result.auxiliary["attack"], scores.get("threat", 0.0))
    if "insult" in scores:
        return max(scores["insult"], scores.get("threat", 0.0))
    return scores.get("toxicity", 0.0)


__all__ = ["GROUP_TARGET", "Directedness", "ThreadAwareScorer", "add_attack", "insult_signal"]
