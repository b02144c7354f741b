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
    ALWAYS_REVIEW,
    ATTACK_ON_COMMENTER,
    BANNED_COMMENTER,
    BLOCKED_WORD,
    NEW_COMMENTER,
    REJECTION_RATE,
    REPORTED,
    USER_KEY,
    Comment,
    CommenterRecord,
    CommenterState,
    CommentScore,
    Decision,
    QueueStatus,
    ReportEffect,
    ReportRule,
    identity,
)

FLAGGED = QueueStatus.PENDING.value  # a flagged comment enters the review queue as pending
PASSED = "passed"
REJECTED = QueueStatus.REJECTED.value  # a banned commenter's comment: rejected by the pipeline, no review


@dataclass(frozen=True)
class PolicyContext:
    comment: Comment
    score: CommentScore
    settings: PolicySettings
    source: str | None = None
    """The source the comment came from (its user ids are only meaningful there)."""
    commenter: CommenterRecord | None = None
    """The author's state and history, where the source identifies them (None: a guest known by name only)."""
    reports: int = 0
    """How many reader reports the comment has."""

    def severe_labels(self) -> list[str]:
        """Urgent labels (`policy.urgent_labels`) whose scores crossed their thresholds."""
        crossed = _crossed(self.score.all_scores(), self.settings.thresholds)
        return sorted(label for label in crossed if label in self.settings.urgent_labels)

    def state(self) -> str | None:
        return self.commenter.state if self.commenter is not None else None


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


def banned_commenter(ctx: PolicyContext) -> PhaseResult | None:
    """A banned commenter's comment is rejected without review (the ban's expiry is applied before: an expired
    ban is no state)."""
    if ctx.state() != CommenterState.BANNED or ctx.commenter is None:
        return None
    return PhaseResult(status=REJECTED, reasons={BANNED_COMMENTER: 1.0}, explanation=f"{ctx.commenter.key} is banned")


def trusted_author(ctx: PolicyContext) -> PhaseResult | None:
    """Registered users named in `trusted_authors` as `<source>:<user id>`, or set trusted (`moderation commenter
    set`); a display name is never trusted, since a guest can type any name. Trust never passes a comment with a
    severe label (`urgent_labels`) or with `reports.queue_at` reader reports: those go on to the other phases."""
    who = _trusted(ctx)
    if who is None:
        return None
    severe = ctx.severe_labels()
    if severe:
        return PhaseResult(explanation=f"trusted author {who}, but {', '.join(severe)}")
    if ctx.reports >= ctx.settings.reports.queue_at:
        return PhaseResult(explanation=f"trusted author {who}, but {ctx.reports} reader reports")
    return PhaseResult(status=PASSED, explanation=f"trusted author {ctx.comment.author} ({who})")


def _trusted(ctx: PolicyContext) -> str | None:
    """The comment's verified identity if it is trusted: only the source's user id counts, never a name."""
    if ctx.source is None or not ctx.comment.author_id:
        return None
    who = identity(ctx.source, ctx.comment.author_id)
    if who in ctx.settings.trusted_authors:
        return who
    commenter = ctx.commenter
    if commenter is not None and commenter.state == CommenterState.TRUSTED and commenter.key == _user(ctx.comment):
        return who
    return None


def _user(comment: Comment) -> str:
    return f"{USER_KEY}{comment.author_id}"


def always_review(ctx: PolicyContext) -> PhaseResult | None:
    if ctx.state() != CommenterState.ALWAYS_REVIEW or ctx.commenter is None:
        return None
    return PhaseResult(reasons={ALWAYS_REVIEW: 1.0}, explanation=f"{ctx.commenter.key} is always reviewed")


def rejection_rate(ctx: PolicyContext) -> PhaseResult | None:
    """Coral's rule: a commenter whose recent comments were often rejected has every comment reviewed, until
    those rejections are older than the window."""
    rules, commenter = ctx.settings.commenters, ctx.commenter
    if rules.rejection_rate is None or commenter is None or commenter.recent_comments < rules.min_comments:
        return None
    rate = commenter.recent_rejected / commenter.recent_comments
    if rate < rules.rejection_rate:
        return None
    explanation = (
        f"{commenter.recent_rejected} of {commenter.key}'s {commenter.recent_comments} comments "
        f"in {rules.window_days} days were rejected"
    )
    return PhaseResult(reasons={REJECTION_RATE: round(rate, 4)}, explanation=explanation)


def new_commenter(ctx: PolicyContext) -> PhaseResult | None:
    """The first `commenters.review_first` comments of each commenter are reviewed."""
    first, commenter = ctx.settings.commenters.review_first, ctx.commenter
    if not first or commenter is None or commenter.earlier_comments >= first:
        return None
    explanation = f"comment {commenter.earlier_comments + 1} of {commenter.key}'s first {first}"
    return PhaseResult(reasons={NEW_COMMENTER: 1.0}, explanation=explanation)


def reader_reports(ctx: PolicyContext) -> PhaseResult | None:
    """`reports.queue_at` reader reports queue a comment whatever its score."""
    if ctx.reports < ctx.settings.reports.queue_at:
        return None
    return PhaseResult(reasons={REPORTED: float(ctx.reports)}, explanation=f"{ctx.reports} reader reports")


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


PHASES: tuple[Phase, ...] = (
    # nothing to judge
    empty,
    # who wrote it: a ban ends the run; trust too, unless the content is severe or readers reported it
    banned_commenter,
    trusted_author,
    always_review,
    rejection_rate,
    new_commenter,
    # readers
    reader_reports,
    # what it says
    blocked_words,
    label_thresholds,
    attack_on_commenter,
)


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


def decide(
    comment: Comment,
    score: CommentScore,
    settings: PolicySettings,
    source: str | None = None,
    commenter: CommenterRecord | None = None,
    reports: int = 0,
) -> Decision:
    """The decision on one comment: passed, flagged for review (pending), or rejected (a banned commenter).

    A queued comment that readers reported (fewer than `reports.queue_at` times) also carries `reported`.
    """
    ctx = PolicyContext(comment, score, settings, source, commenter, reports)
    status, reasons, explanations = run_phases(ctx, PHASES)
    if status is None:  # no phase decided: flagged for any reason, else passed
        status = FLAGGED if reasons else PASSED
    flagged = status == FLAGGED
    if flagged and reports:
        reasons[REPORTED] = float(reports)
    kept = flagged or status == REJECTED
    return Decision(
        flagged=flagged,
        reasons=reasons if kept else {},
        priority=priority(reasons, settings) if flagged else 0.0,
        status=status,
        explanation="; ".join(explanations),
        attack_target=score.attack_target if ATTACK_ON_COMMENTER in reasons else None,
    )


def priority(reasons: Mapping[str, float], settings: PolicySettings) -> float:
    """Most severe first: the largest severity weight x score among the reasons, raised by reader reports.

    An item flagged for an urgent label (`policy.urgent_labels`) ranks above every item that is not: its
    priority is raised by the most any other item can reach (`non_urgent_ceiling`). `reported` counts reports,
    not a score: it adds `report_boost` instead of taking part in the maximum.
    """
    scored = {label: value for label, value in reasons.items() if label != REPORTED}
    alone = 1.0 if REPORTED in reasons else 0.0  # reports alone rank like a reason without a weight
    weighted = max((settings.severity.get(label, 1.0) * value for label, value in scored.items()), default=alone)
    weighted += report_boost(int(reasons.get(REPORTED, 0)), settings)
    if any(label in settings.urgent_labels for label in reasons):
        weighted += non_urgent_ceiling(settings)
    return round(weighted, 4)


def report_boost(reports: int, settings: PolicySettings) -> float:
    """What `reports` reader reports add to an item's priority."""
    rules = settings.reports
    return min(reports * rules.priority_per_report, rules.max_priority_boost)


def report_rule(settings: PolicySettings) -> ReportRule:
    """What reports do to a comment already scored (they arrive later: `pipeline.add_reports`, a source read again)."""

    def effect(reports: int) -> ReportEffect:
        return ReportEffect(queues=reports >= settings.reports.queue_at, boost=report_boost(reports, settings))

    return effect


def non_urgent_ceiling(settings: PolicySettings) -> float:
    """The highest priority an item without an urgent label can have: its largest weight x a score of 1, plus the
    most reports can add."""
    weights = [weight for label, weight in settings.severity.items() if label not in settings.urgent_labels]
    # 1.0: the weight of a reason without one (blocked_word, an unlisted label)
    return max([1.0, *weights]) + settings.reports.max_priority_boost


def _crossed(scores: dict[str, float], thresholds: dict[str, float]) -> dict[str, float]:
    return {label: value for label, value in scores.items() if label in thresholds and value >= thresholds[label]}
