"""Readers' reports as moderators see them on an item: who reported what, why, and when."""

from __future__ import annotations

from moderation.review.queue import QueueEntry
from moderation.storage.engine import Database
from moderation.storage.reports import ReportEntry, reports_on

__all__ = ["ReportEntry", "reports_for"]


def reports_for(db: Database, item: QueueEntry) -> list[ReportEntry]:
    """Every report on the item's comment, oldest first."""
    return reports_on(db, item.source, item.comment_id)
