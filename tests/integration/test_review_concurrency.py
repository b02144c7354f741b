"""Several moderators working one queue at the same time: every item is decided exactly once."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from moderation.config import ReviewSettings
from moderation.errors import QueueError
from moderation.review import Moderator, claim_next, decide
from moderation.review.queue import list_items
from moderation.storage.engine import database
from moderation.storage.tables import ModerationActionRow, QueueItemRow
from tests.conftest import SEED_TIME, seed_review_queue

NOW = SEED_TIME + timedelta(hours=1)
RULES = ReviewSettings()
ITEMS = 60
MODERATORS = 6


def _flagged_comments(path: Path, count: int) -> Path:
    lines = [
        json.dumps(
            {"id": f"x{i}", "post_id": "p1", "author": f"user{i}", "text": f"You are an idiot, reply number {i}."}
        )
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _work_the_queue(url: str, name: str, start: threading.Barrier) -> list[int]:
    db, me, decided = database(url), Moderator(name), []
    start.wait()
    while (item := claim_next(db, me, NOW, RULES)) is not None:
        status = "rejected" if item.id % 2 else "approved"
        reason = "insult" if status == "rejected" else None
        result = decide(
            db, item.id, status, moderator=me, expected_version=item.version, now=NOW, rules=RULES, reason_code=reason
        )
        decided.append(result.item_id)
    return decided


def test_concurrent_moderators_decide_every_item_exactly_once(db_url: str, tmp_path: Path) -> None:
    seed_review_queue(db_url, _flagged_comments(tmp_path / "many.jsonl", ITEMS))
    assert len(list_items(database(db_url), "pending", limit=1000)) == ITEMS
    start = threading.Barrier(MODERATORS)
    with ThreadPoolExecutor(MODERATORS) as pool:
        futures = [pool.submit(_work_the_queue, db_url, f"mod{i}", start) for i in range(MODERATORS)]
        per_moderator = [f.result(timeout=120) for f in futures]

    decided = [item_id for items in per_moderator for item_id in items]
    assert len(decided) == len(set(decided)) == ITEMS
    with database(db_url).session() as session:
        audit_rows_per_item = Counter(
            dict(
                session.execute(
                    select(ModerationActionRow.queue_item_id, func.count())
                    .where(ModerationActionRow.actor != "system")
                    .group_by(ModerationActionRow.queue_item_id)
                ).all()
            )
        )
        still_pending = session.scalar(select(func.count()).where(QueueItemRow.status == "pending"))
    assert set(audit_rows_per_item) == set(decided)
    assert set(audit_rows_per_item.values()) == {1}
    assert still_pending == 0


def test_racing_decisions_on_one_item_let_exactly_one_through(db_url: str) -> None:
    seed_review_queue(db_url)
    item = list_items(database(db_url), "pending")[0]
    start = threading.Barrier(MODERATORS)

    def race(name: str) -> str:
        start.wait()
        try:
            decide(
                database(db_url),
                item.id,
                "approved",
                moderator=Moderator(name),
                expected_version=item.version,
                now=NOW,
                rules=RULES,
            )
        except QueueError as exc:
            return type(exc).__name__
        return "decided"

    with ThreadPoolExecutor(MODERATORS) as pool:
        outcomes = Counter(pool.map(race, [f"mod{i}" for i in range(MODERATORS)]))
    assert outcomes["decided"] == 1
    assert set(outcomes) - {"decided"} <= {"StaleVersion", "AlreadyDecided"}
    with database(db_url).session() as session:
        actions = session.scalar(
            select(func.count()).where(
                ModerationActionRow.queue_item_id == item.id, ModerationActionRow.actor != "system"
            )
        )
    assert actions == 1
