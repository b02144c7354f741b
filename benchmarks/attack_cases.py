"""Accuracy of attack_on_commenter and its target on the project's hand-written thread cases.

    python benchmarks/attack_cases.py [--scorer fast] [--threshold 0.5] [--verbose]

Cases: tests/data/attack_cases.jsonl (half attacks, half hard negatives: third-party insults, quotes,
self-deprecation, civil disagreement, friendly address, undirected profanity).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from moderation.config import ScoringSettings
from moderation.models import Comment, InThread, Post, Thread
from moderation.scoring import load_scorer

CASES = Path(__file__).resolve().parent.parent / "tests" / "data" / "attack_cases.jsonl"


def load_cases(path: Path = CASES) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def case_input(case: dict) -> InThread:
    comments = [
        Comment(id=c["id"], text=c["text"], author=c["author"], post_id="p", parent_id=c["parent_id"])
        for c in case["thread"]
    ]
    post = Post(id="p", title="Soviet pilot defects", author=case.get("post_author"))
    thread = Thread(post=post, comments={c.id: c for c in comments}, authors={c.author for c in comments})
    return InThread(next(c for c in comments if c.id == case["comment_id"]), thread)


def evaluate(scorer_name: str, threshold: float, verbose: bool = False, path: Path = CASES) -> dict:
    cases = load_cases(path)
    scorer = load_scorer(scorer_name, ScoringSettings(scorer=scorer_name))
    results = scorer.score([case_input(c) for c in cases])
    correct, targets_right, attacks = 0, 0, 0
    wrong_by_kind: Counter[str] = Counter()
    for case, result in zip(cases, results, strict=True):
        predicted = (result.attack_on_commenter or 0.0) >= threshold
        ok = predicted == case["attack"]
        correct += ok
        if not ok:
            wrong_by_kind[case["kind"]] += 1
        if case["attack"]:
            attacks += 1
            targets_right += predicted and result.attack_target == case["target"]
        if verbose and (not ok or (case["attack"] and result.attack_target != case["target"])):
            text = case["thread"][-1]["text"]
            print(
                f"  case {case['case']:>2} {case['kind']:<12} expected={case['attack']!s:<5} "
                f"attack={result.attack_on_commenter:.2f} target={result.attack_target!r:<12} "
                f"insult={result.scores.get('insult', 0):.2f}  {text[:70]}"
            )
    return {
        "scorer": f"{scorer.name}/{scorer.version}",
        "cases": len(cases),
        "attacks": attacks,
        "accuracy": correct / len(cases),
        "target_accuracy": targets_right / attacks,
        "errors_by_kind": dict(wrong_by_kind),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scorer", default="fast")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--cases", type=Path, default=CASES)
    args = parser.parse_args()
    print(json.dumps(evaluate(args.scorer, args.threshold, args.verbose, args.cases), indent=2))


if __name__ == "__main__":
    main()
