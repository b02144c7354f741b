"""View models for the comment card: everything a template shows, computed here so templates hold no logic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from moderation.config import ReviewSettings
from moderation.review.actors import Moderator
from moderation.review.claims import stale_before
from moderation.review.present import ScoreChip, Segment, highlight, score_chips
from moderation.review.queue import QueueEntry

CARD_TEXT_CHARS = 1200
"""A queue card shows at most this much of a comment; the item page shows all of it."""


@dataclass(frozen=True)
class Card:
    entry: QueueEntry
    segments: list[Segment]
    chips: list[ScoreChip]
    held_by: str | None
    """Another moderator with a fresh claim on this item."""
    free_at: datetime | None
    """When that claim expires."""
    mine: bool
    """The viewer holds the claim."""
    decidable: bool
    """The viewer may decide this item now."""
    hidden_chars: int = 0
    """How much of the text the card leaves out ("show more" opens the item)."""

    @property
    def id(self) -> int:
        return self.entry.id


def make_card(
    entry: QueueEntry, viewer: Moderator, now: datetime, rules: ReviewSettings, *, fold_at: int | None = None
) -> Card:
    """The card for `entry` as `viewer` sees it; with `fold_at`, only that many characters of the text."""
    held_by, free_at = None, None
    fresh = entry.claimed_at is not None and entry.claimed_at >= stale_before(now, rules)
    if entry.claimed_by and entry.claimed_by != viewer.name and fresh and entry.claimed_at is not None:
        held_by = entry.claimed_by
        free_at = entry.claimed_at + timedelta(minutes=rules.claim_timeout_minutes)
    return Card(
        entry=entry,
        segments=highlight(entry.text[:fold_at], entry.evidence),
        chips=score_chips(entry.labels or entry.reasons, entry.reasons),
        held_by=held_by,
        free_at=free_at,
        mine=entry.claimed_by == viewer.name and fresh,
        decidable=entry.status in viewer.decidable() and held_by is None,
        hidden_chars=max(0, len(entry.text) - fold_at) if fold_at is not None else 0,
    )
