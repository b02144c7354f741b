"""`moderation score`: a JSONL file of comments in, one JSON object per comment out.

The output format is a public interface: add fields, never rename or remove them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moderation.config import load_settings
from moderation.errors import ConfigError
from moderation.models import Comment, CommentScore, Decision, InThread, Post, RejectedRecord, Thread
from moderation.policy import decide
from moderation.policy.per_source import effective_policy
from moderation.scoring.base import load_scorer
from moderation.scoring.isolation import ScoringFailed, score_isolated
from moderation.sources.files import JsonlFileSource


@dataclass
class ScoreFileReport:
    scored: int = 0
    flagged: int = 0
    rejected: list[RejectedRecord] = field(default_factory=list)
    """Lines that are not a valid comment (invalid JSON, wrong types, ...), with file and line."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(where, error) of comments the scorer raised on alone; every other comment was written."""


def score_file(
    path: Path,
    out: IO[str],
    *,
    config_path: str | None = None,
    scorer_name: str | None = None,
    source: str | None = None,
) -> ScoreFileReport:
    """Score every valid comment of `path` (each with its thread) and write JSON lines to `out`; with `source`,
    decide as for that configured source's comments (its own policy, its trusted authors)."""
    settings = load_settings(config_path)
    policy = settings.policy
    if source is not None:
        found = settings.source_named(source)
        if found is None:
            known = ", ".join(s.name for s in settings.sources) or "none"
            raise ConfigError(f"--source {source}: no such source in the config (sources: {known})")
        policy = effective_policy(policy, found.policy)
    scorer = load_scorer(scorer_name or settings.scoring.scorer, settings.scoring)
    batch = JsonlFileSource("input", path).fetch(None)
    report = ScoreFileReport(rejected=batch.rejected)
    items = list(_in_threads(batch.comments, batch.posts))
    size = settings.scoring.batch_size
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        for item, score in zip(chunk, score_isolated(scorer, chunk), strict=True):
            if isinstance(score, ScoringFailed):
                report.failed.append((batch.locations.get(item.comment.id, item.comment.id), score.error))
                continue
            reports = sum(report.count for report in item.comment.reports)
            decision = decide(item.comment, score, policy, source or "input", reports=reports)
            out.write(
                json.dumps(
                    output_record(item.comment, score, decision, f"{scorer.name}/{scorer.version}"), ensure_ascii=False
                )
                + "\n"
            )
            report.scored += 1
            report.flagged += decision.flagged
    return report


def output_record(comment: Comment, score: CommentScore, decision: Decision, scorer: str) -> dict[str, Any]:
    return {
        "id": comment.id,
        "scores": score.scores,
        "flagged": decision.flagged,
        "reasons": sorted(decision.reasons),
        "attack_on_commenter": score.attack_on_commenter,
        "attack_target": score.attack_target,
        "evidence": {label: [list(span) for span in spans] for label, spans in score.evidence.items()},
        "scorer": scorer,
    }


def _in_threads(comments: list[Comment], posts: list[Post]) -> Iterable[InThread]:
    """Group comments by post, keeping file order in the output."""
    by_post: dict[str | None, list[Comment]] = defaultdict(list)
    for comment in comments:
        by_post[comment.post_id].append(comment)
    post_by_id = {post.id: post for post in posts}
    threads = {
        post_id: Thread.of(members, post=post_by_id.get(post_id) if post_id else None)
        for post_id, members in by_post.items()
    }
    for comment in comments:
        yield InThread(comment, threads[comment.post_id])
