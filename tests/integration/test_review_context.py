"""What a moderator sees around an item: thread, author history, audit trail; and the labelled-data export."""

from __future__ import annotations

from datetime import timedelta

from moderation.config import ReviewSettings
from moderation.review import Moderator, audit_for, author_history, decide, thread_for
from moderation.review.export import export_labels
from moderation.review.queue import QueueEntry, list_items
from moderation.storage.engine import database
from tests.conftest import SEED_TIME

NOW = SEED_TIME + timedelta(hours=1)
RULES = ReviewSettings()


def _item(url: str, comment_id: str) -> QueueEntry:
    return next(e for e in list_items(database(url), "pending") if e.comment_id == comment_id)


def test_thread_context_shows_who_replied_to_whom_around_the_attack(seeded_url: str) -> None:
    thread = thread_for(database(seeded_url), _item(seeded_url, "c6"))
    assert thread.post_title == "Russian Pilot Escaped to USA on Super Secret Air Force MiG-25 Jet"
    assert thread.ancestors == []
    assert [(c.comment_id, c.author) for c in thread.before] == [("c3", "Chrisco"), ("c4", "Rusty"), ("c5", "Slaven")]
    assert [(c.comment_id, c.author, c.parent_author) for c in thread.replies] == [("c7", "Douglas", "Lee Lindberg")]
    assert [c.comment_id for c in thread.after] == ["c8", "c9"]


def test_flagged_comments_in_the_thread_carry_their_queue_status(seeded_url: str) -> None:
    thread = thread_for(database(seeded_url), _item(seeded_url, "c6"))
    assert thread.comment.queue is not None and thread.comment.queue.status == "pending"
    assert all(c.queue is None for c in thread.before)


def test_author_history_counts_comments_flags_and_rejections(seeded_url: str) -> None:
    c10 = _item(seeded_url, "c10")
    decide(
        database(seeded_url),
        c10.id,
        "rejected",
        moderator=Moderator("alice"),
        expected_version=c10.version,
        now=NOW,
        rules=RULES,
        reason_code="insult",
    )
    history = author_history(database(seeded_url), "examples", "Slaven", exclude="c10")
    assert (history.comments, history.flagged, history.rejected) == (2, 1, 1)
    assert [c.comment_id for c in history.recent] == ["c5"]


def test_audit_trail_lists_the_pipeline_and_then_the_moderator(seeded_url: str) -> None:
    c6 = _item(seeded_url, "c6")
    decide(
        database(seeded_url),
        c6.id,
        "rejected",
        moderator=Moderator("alice"),
        expected_version=c6.version,
        now=NOW,
        rules=RULES,
        reason_code="personal_attack",
        note="calls Slaven an idiot",
    )
    trail = audit_for(database(seeded_url), c6)
    assert [(a.actor, a.from_status, a.to_status, a.reason_code) for a in trail] == [
        ("system", None, "pending", None),
        ("alice", "pending", "rejected", "personal_attack"),
    ]


def test_export_labels_writes_each_final_decision_as_a_labelled_record(seeded_url: str) -> None:
    db = database(seeded_url)
    c6, c10 = _item(seeded_url, "c6"), _item(seeded_url, "c10")
    alice = Moderator("alice")
    decide(
        db,
        c6.id,
        "rejected",
        moderator=alice,
        expected_version=c6.version,
        now=NOW,
        rules=RULES,
        reason_code="personal_attack",
    )
    decide(db, c10.id, "escalated", moderator=alice, expected_version=c10.version, now=NOW, rules=RULES)
    [record] = list(export_labels(db))
    assert record["comment_id"] == "c6" and record["text"].startswith("Slaven, you’re an idiot!")
    assert (record["post_id"], record["parent_id"], record["reply_ids"]) == ("post-belenko", None, ["c7"])
    assert (record["decision"], record["violation"], record["reason_code"], record["moderator"]) == (
        "rejected",
        True,
        "personal_attack",
        "alice",
    )
    assert record["flags"]["attack_on_commenter"] >= 0.5 and record["attack_target"] == "Slaven"
    assert record["evidence"]["insult"] and record["labels"]["insult"] >= 0.8
    assert record["decided_at"] == NOW.isoformat()
