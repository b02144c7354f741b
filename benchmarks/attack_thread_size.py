"""Cost of attack detection against thread size: it must grow linearly with the number of comments.

    python benchmarks/attack_thread_size.py [--scorer fast] [--sizes 1000,10000]

Builds synthetic threads (many authors, replies of varied depth, some insults by name or in replies)
and times the whole ThreadAwareScorer (text scorer + thread layer) and the thread layer alone.
"""

from __future__ import annotations

import argparse
import random
import time

from moderation.config import ScoringSettings
from moderation.models import Comment, CommentScore, InThread, Post, Thread
from moderation.scoring import load_scorer
from moderation.scoring.attack import add_attack

PHRASES = [
    "I think the article gets the dates wrong, the plane was returned within months.",
    "Good point, I had not considered the family side of the story at all.",
    "{name}, you are an idiot and everyone here knows it.",
    "You clearly have not read the book, it explains all of this in detail.",
    "What a stupid thing to say.",
    "The KGB were fools to let him go, but the pilot was brave.",
    "Thanks {name}, that is a useful link.",
    "Your argument makes no sense whatsoever, you moron.",
]


def synthetic_thread(size: int, seed: int = 7) -> list[InThread]:
    rng = random.Random(seed)
    authors = [f"user{i}" for i in range(max(10, size // 10))]
    comments: list[Comment] = []
    for i in range(size):
        parent = comments[rng.randrange(len(comments))] if comments and rng.random() < 0.7 else None
        text = rng.choice(PHRASES).format(name=rng.choice(authors).capitalize())
        comments.append(Comment(str(i), text, rng.choice(authors), "p", parent.id if parent else None))
    thread = Thread(
        post=Post("p", "t", author="user0"), comments={c.id: c for c in comments}, authors={c.author for c in comments}
    )
    return [InThread(c, thread) for c in comments]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scorer", default="fast")
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    scorer = load_scorer(args.scorer, ScoringSettings(scorer=args.scorer))
    for size in (int(s) for s in args.sizes.split(",")):
        batch = synthetic_thread(size)
        start = time.perf_counter()
        results = scorer.score(batch)
        total = time.perf_counter() - start
        start = time.perf_counter()
        for item in batch:
            add_attack(item.comment, item.thread, CommentScore(scores={"insult": 0.9}))
        thread_only = time.perf_counter() - start
        attacks = sum((r.attack_on_commenter or 0) >= 0.5 for r in results)
        print(
            f"{size:>6} comments: whole scorer {total:6.2f} s ({size / total:7.0f}/s), thread layer "
            f"{thread_only:5.2f} s ({thread_only / size * 1e6:5.0f} us/comment), {attacks} attacks"
        )


if __name__ == "__main__":
    main()
