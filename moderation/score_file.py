"""`moderation score`: a JSONL file of comments in, one JSON object per comment out.

The output format is a public interface: add fields, never rename or remove them. `moderation api`'s
`POST /v1/score` answers with the same objects: both go through `score_in_threads` and `output_record`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moderation.config import PolicySettings, load_settings
from moderation.errors import ConfigError
from moderation.models import Comment, CommenterRecord, CommentScore, Decision, InThread, Post, RejectedRecord, Thread
from moderation.policy import decide
from moderation.policy.per_source import effective_policy
from moderation.scoring.base import Scorer, load_scorer
from moderation.scoring.isolation import ScoringFailed, score_isolated
from moderation.sources.files import JsonlFileSource

FILE_SOURCE = "input"
"""The source name `moderation score` decides with (`policy.trusted_authors` entries "input:<user id>")."""


@dataclass
class ScoreFileReport:
    scored: int = 0
    flagged: int = 0
    rejected: list[RejectedRecord] = field(default_factory=list)
    """Lines that are not a valid comment (invalid JSON, wrong types, ...), with file and line."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(where, error) of comments the scorer raised on alone; every other comment was written."""


@dataclass(frozen=True)
class Scored:
    """One comment scored and decided, with its public output object."""

    item: InThread
    score: CommentScore
    decision: Decision
    record: dict[str, Any]


@dataclass(frozen=True)
class Failed:
    """A comment the scorer raised on, alone."""

    comment: Comment
    error: str


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
    batch = JsonlFileSource(FILE_SOURCE, path).fetch(None)
    report = ScoreFileReport(rejected=batch.rejected)
    items = list(in_threads(batch.comments, batch.posts))
    for outcome in score_in_threads(items, scorer, policy, source or FILE_SOURCE, settings.scoring.batch_size):
        if isinstance(outcome, Failed):
            report.failed.append((batch.locations.get(outcome.comment.id, outcome.comment.id), outcome.error))
            continue
        out.write(json.dumps(outcome.record, ensure_ascii=False) + "\n")
        report.scored += 1
        report.flagged += outcome.decision.flagged
    return report


def score_in_threads(
    items: Sequence[InThread],
    scorer: Scorer,
    policy: PolicySettings,
    source: str,
    batch_size: int,
    commenters: Mapping[str, CommenterRecord] | None = None,
) -> Iterator[Scored | Failed]:
    """Score and decide each comment with its thread, `batch_size` at a time; a comment the scorer fails
    on alone comes out as `Failed`, in its place. `commenters`: comment id -> its author's record, where
    the caller knows it (the API does, from the database; a file does not)."""
    commenters = commenters or {}
    scorer_label = f"{scorer.name}/{scorer.version}"
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        for item, score in zip(chunk, score_isolated(scorer, chunk), strict=True):
            if isinstance(score, ScoringFailed):
                yield Failed(item.comment, score.error)
                continue
            reports = sum(report.count for report in item.comment.reports)
            commenter = commenters.get(item.comment.id)
            decision = decide(item.comment, score, policy, source, commenter, reports)
            yield Scored(item, score, decision, output_record(item.comment, score, decision, scorer_label))


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


def in_threads(
    comments: list[Comment],
    posts: list[Post],
    context: Iterable[Comment] = (),
    participants: Iterable[str] = (),
) -> Iterator[InThread]:
    """Group comments by post, keeping their order. `context` comments (a parent, earlier replies) join
    their post's thread without being scored; `participants` are other people known to take part."""
    by_post: dict[str | None, list[Comment]] = defaultdict(list)
    for comment in comments:
        by_post[comment.post_id].append(comment)
    around: dict[str | None, list[Comment]] = defaultdict(list)
    for comment in context:
        around[comment.post_id].append(comment)
    post_by_id = {post.id: post for post in posts}
    names = {name for name in participants if name}
    threads = {
        post_id: Thread(
            post=post_by_id.get(post_id) if post_id else None,
            comments={c.id: c for c in [*around[post_id], *members]},
            authors=set(names),
        )
        for post_id, members in by_post.items()
    }
    for comment in comments:
        yield InThread(comment, threads[comment.post_id])
