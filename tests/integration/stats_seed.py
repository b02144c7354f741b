"""A small history of flags and decisions whose every figure is worked out by hand (tests of the stats page,
`moderation stats` and `moderation tune thresholds`).

Decisions go through the review verbs (`decide`, `undo_last`) with set times, so the audit rows are the
real ones; comments, scores and queue items are written as the pipeline writes them, with set scores.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from moderation.config import ReviewSettings
from moderation.review import Moderator, decide, undo_last
from moderation.review.actors import ADMIN
from moderation.storage.engine import Database
from moderation.storage.tables import CommentRow, ModerationActionRow, QueueItemRow, ScoreRow

RULES = ReviewSettings()
ALICE, BOB, ROOT = Moderator("alice"), Moderator("bob"), Moderator("root", ADMIN)
FIRST_DAY, LAST_DAY = date(2026, 1, 5), date(2026, 1, 7)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def add_comment(db: Database, external_id: str, when: datetime, reasons: dict[str, float] | None) -> int | None:
    """A comment scored at `when`; with `reasons`, flagged then: returns its queue item id."""
    text = f"comment {external_id}"
    digest = hashlib.sha256(text.encode()).hexdigest()
    with db.session() as session:
        comment = CommentRow(
            source="site",
            external_id=external_id,
            author="someone",
            text=text,
            content_hash=digest,
            ingested_at=when,
            updated_at=when,
        )
        session.add(comment)
        session.flush()
        labels: dict[str, Any] = dict(reasons or {"toxicity": 0.01})
        score = ScoreRow(
            comment_id=comment.id,
            content_hash=digest,
            scorer="fast",
            scorer_version="fast-test",
            labels=labels,
            evidence={},
            scored_at=when,
        )
        session.add(score)
        session.flush()
        item_id = None
        if reasons:
            item = QueueItemRow(
                comment_id=comment.id,
                content_hash=digest,
                score_id=score.id,
                reasons=reasons,
                priority=max(reasons.values()),
                created_at=when,
            )
            session.add(item)
            session.flush()
            item_id = item.id
        session.add(
            ModerationActionRow(
                comment_id=comment.id,
                queue_item_id=item_id,
                content_hash=digest,
                from_status=None,
                to_status="pending" if reasons else "pass",
                actor="system",
                created_at=when,
            )
        )
        return item_id


def seed_history(db: Database) -> dict[str, int]:
    """The period 2026-01-05 to 01-07 and a day on each side; see tests/integration/test_stats.py for the sums."""
    items: dict[str, int] = {}

    def flag(name: str, when: datetime, reasons: dict[str, float]) -> int:
        item_id = add_comment(db, name, when, reasons)
        assert item_id is not None
        items[name] = item_id
        return item_id

    flag("A", at(4, 12), {"insult": 0.7})  # before the period, never decided
    b = flag("B", at(5, 9), {"insult": 0.8, "toxicity": 0.6})
    c = flag("C", at(5, 10), {"threat": 0.9})
    d = flag("D", at(5, 11), {"insult": 0.6})
    add_comment(db, "clean", at(6, 7), None)
    e = flag("E", at(6, 8), {"toxicity": 0.5})
    flag("F", at(8, 9), {"insult": 0.9})  # after the period

    decide(
        db, b, "rejected", moderator=ALICE, expected_version=None, now=at(5, 9, 30), rules=RULES, reason_code="insult"
    )
    decide(db, d, "approved", moderator=ALICE, expected_version=None, now=at(5, 13), rules=RULES)
    decide(db, c, "escalated", moderator=ALICE, expected_version=None, now=at(6, 8), rules=RULES)
    decide(db, c, "rejected", moderator=ROOT, expected_version=None, now=at(6, 9), rules=RULES, reason_code="threat")
    decide(db, e, "approved", moderator=BOB, expected_version=None, now=at(6, 9), rules=RULES)
    undo_last(db, BOB, at(6, 9, 5))
    decide(db, e, "rejected", moderator=BOB, expected_version=None, now=at(7, 10), rules=RULES, reason_code="other")
    return items
