"""The decision as an ordered list of small phases.

Each phase looks at a read-only context and returns a PhaseResult or None. Reasons accumulate over
phases; the first phase that sets a status ends the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from moderation.config import PolicySettings
from moderation.models import (
    ATTACK_ON_COMMENTER,
    BLOCKED_WORD,
    Comment,
    CommentScore,
    Decision,
    QueueStatus,
    identity,
)

FLAGGED = QueueStatus.PENDING.value  # a flagged comment enters the review queue as pending
PASSED = "passed"


@dataclass(frozen=True)
class PolicyContext:
    comment: Comment
    score: CommentScore
    settings: PolicySettings
    source: str | None = None
    """The source the comment came from (its user ids are only meaningful there)."""


@dataclass(frozen=True)
class PhaseResult:
    status: str | None = None
    reasons: dict[str, float] = field(default_factory=dict)
    explanation: str | None = None


Phase = Callable[[PolicyContext], PhaseResult | None]


def empty(ctx: PolicyContext) -> PhaseResult | None:
    if not ctx.comment.text.strip():
        return PhaseResult(status=PASSED, explanation="empty comment")
    return None


def trusted_author(ctx: PolicyContext) -> PhaseResult | None:
    """Registered users named in `trusted_authors` as `<source>:<user id>`; a display name is never trusted,
    since a guest can type any name."""
    who = identity(ctx.source, ctx.comment.author_id) if ctx.source else None
    if who is not None and who in ctx.settings.trusted_authors:
        return PhaseResult(status=PASSED, explanation=f"trusted author {ctx.comment.author} ({who})")
    return None


def blocked_words(ctx: PolicyContext) -> PhaseResult | None:
    for word in ctx.settings.blocked_words:
        if re.search(rf"\b{re.escape(word)}\b", ctx.comment.text, re.IGNORECASE):
            return PhaseResult(reasons={BLOCKED_WORD: 1.0}, explanation=f"blocked word {word!r}")
    return None


def label_thresholds(ctx: PolicyContext) -> PhaseResult | None:
    crossed = _crossed(ctx.score.scores, ctx.settings.thresholds)
    return PhaseResult(reasons=crossed) if crossed else None


def attack_on_commenter(ctx: PolicyContext) -> PhaseResult | None:
    value = ctx.score.attack_on_commenter
    if value is None:
        return None
    crossed = _crossed({ATTACK_ON_COMMENTER: value}, ctx.settings.thresholds)
    if not crossed:
        return None
    target = ctx.score.attack_target
    return PhaseResult(reasons=crossed, explanation=f"attack on {target}" if target else "attack on a commenter")


PHASES: tuple[Phase, ...] = (empty, trusted_author, blocked_words, label_thresholds, attack_on_commenter)


def run_phases(ctx: PolicyContext, phases: Sequence[Phase]) -> tuple[str | None, dict[str, float], list[str]]:
    """Apply phases in order: (status or None, accumulated reasons, explanations)."""
    reasons: dict[str, float] = {}
    explanations: list[str] = []
    for phase in phases:
        result = phase(ctx)
        if result is None:
            continue
        reasons.update(result.reasons)
        if result.explanation:
            explanations.append(result.explanation)
        if result.status is not None:
            return result.status, reasons, explanations
    return None, reasons, explanations


def decide(comment: Comment, score: CommentScore, settings: PolicySettings, source: str | None = None) -> Decision:
    status, reasons, explanations = run_phases(PolicyContext(comment, score, settings, source), PHASES)
    if status is None:  # no phase decided: flagged for any reason, else passed
        status = FLAGGED if reasons else PASSED
    flagged = status == FLAGGED
    return Decision(
        flagged=flagged,
        reasons=reasons if flagged else {},
        priority=priority(reasons, settings) if flagged else 0.0,
        status=status,
        explanation="; ".join(explanations),
        attack_target=score.attack_target if ATTACK_ON_COMMENTER in reasons else None,
    )


def priority(reasons: Mapping[str, float], settings: PolicySettings) -> float:
    """Most severe first: the largest severity weight x score among the reasons.

    An item flagged for an urgent label (`policy.urgent_labels`) ranks above every item that is not: its
    priority is raised by the most any other item can reach (`non_urgent_ceiling`).
    """
    weighted = max((settings.severity.get(label, 1.0) * value for label, value in reasons.items()), default=0.0)
    if any(label in settings.urgent_labels for label in reasons):
        weighted += non_urgent_ceiling(settings)
    return round(weighted, 4)


def non_urgent_ceiling(settings: PolicySettings) -> float:
    """The highest priority an item without an urgent label can have: its largest weight x a score of 1."""
    weights = [weight for label, weight in settings.severity.items() if label not in settings.urgent_labels]
    return max([1.0, *weights])  # 1.0: the weight of a reason without one (blocked_word, an unlisted label)


def _crossed(scores: dict[str, float], thresholds: dict[str, float]) -> dict[str, float]:
    return {label: value for label, value in scores.items() if label in thresholds and value >= thresholds[label]}
