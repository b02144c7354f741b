"""Claims, version-checked decisions, undo and bulk decisions on the real queue (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from moderation.config import ReviewSettings
from moderation.errors import AlreadyClaimed, NotAllowed, NothingToUndo, QueueError, StaleVersion
from moderation.review import Moderator, bulk_decide, claim, claim_next, decide, release, undo_last
from moderation.review.queue import QueueEntry, QueueFilter, get_item, list_items
from moderation.storage.engine import database
from moderation.storage.tables import ModerationActionRow
from tests.conftest import SEED_TIME

NOW = SEED_TIME + timedelta(hours=1)
RULES = ReviewSettings()
ALICE = Moderator("alice")
BOB = Moderator("bob")
ADMIN = Moderator("root", "admin")


def _item(url: str, comment_id: str) -> QueueEntry:
    return next(e for e in list_items(database(url), "pending") if e.comment_id == comment_id)


def _moderator_actions(url: str, item_id: int) -> list[ModerationActionRow]:
    with database(url).session() as session:
        query = select(ModerationActionRow).where(
            ModerationActionRow.queue_item_id == item_id, ModerationActionRow.actor != "system"
        )
        return list(session.scalars(query.order_by(ModerationActionRow.id)))


def _reject(url: str, item: QueueEntry, who: Moderator = ALICE, **kwargs):  # type: ignore[no-untyped-def]
    options = {"expected_version": item.version, "now": NOW, "rules": RULES, "reason_code": "personal_attack"}
    options.update(kwargs)
    return decide(database(url), item.id, "rejected", moderator=who, **options)


def test_claim_next_gives_the_most_severe_pending_item(seeded_url: str) -> None:
    item = claim_next(database(seeded_url), ALICE, NOW, RULES)
    assert item is not None
    assert (item.comment_id, item.claimed_by, item.claimed_at) == ("c6", "alice", NOW)


def test_a_second_moderator_gets_the_next_item_not_the_claimed_one(seeded_url: str) -> None:
    db = database(seeded_url)
    first = claim_next(db, ALICE, NOW, RULES)
    second = claim_next(db, BOB, NOW, RULES)
    assert first is not None and second is not None
    assert (first.comment_id, second.comment_id) == ("c6", "c10")
    assert claim_next(db, Moderator("carol"), NOW, RULES) is None


def test_an_item_claimed_by_one_moderator_is_refused_to_another(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    claim(database(seeded_url), item.id, ALICE, NOW, RULES)
    with pytest.raises(AlreadyClaimed) as error:
        claim(database(seeded_url), item.id, BOB, NOW + timedelta(minutes=1), RULES)
    assert str(error.value) == (
        f"item #{item.id} is being reviewed by alice since 10:00 UTC; "
        "it is free again at 10:15 UTC or when alice moves on"
    )


def test_a_stale_claim_expires_and_another_moderator_may_take_the_item(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    claim(database(seeded_url), item.id, ALICE, NOW, RULES)
    later = NOW + timedelta(minutes=RULES.claim_timeout_minutes, seconds=1)
    taken = claim(database(seeded_url), item.id, BOB, later, RULES)
    assert (taken.claimed_by, taken.claimed_at) == ("bob", later)


def test_opening_another_item_releases_the_moderators_previous_claim(seeded_url: str) -> None:
    c6, c10 = _item(seeded_url, "c6"), _item(seeded_url, "c10")
    claim(database(seeded_url), c6.id, ALICE, NOW, RULES)
    claim(database(seeded_url), c10.id, ALICE, NOW, RULES)
    assert get_item(database(seeded_url), c6.id).claimed_by is None


def test_release_gives_the_item_back_to_the_queue(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    claim(database(seeded_url), item.id, ALICE, NOW, RULES)
    assert release(database(seeded_url), item.id, ALICE) is True
    assert claim(database(seeded_url), item.id, BOB, NOW, RULES).claimed_by == "bob"


def test_a_decision_changes_status_and_version_and_writes_one_audit_row(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    claim(database(seeded_url), item.id, ALICE, NOW, RULES)
    decided = _reject(seeded_url, item, note="name-calling")
    after = get_item(database(seeded_url), item.id)
    assert (after.status, after.version, after.decided_by, after.decision_code, after.decision_note) == (
        "rejected",
        item.version + 1,
        "alice",
        "personal_attack",
        "name-calling",
    )
    assert after.claimed_by is None
    [action] = _moderator_actions(seeded_url, item.id)
    assert (action.id, action.from_status, action.to_status, action.reason_code, action.reason) == (
        decided.action_id,
        "pending",
        "rejected",
        "personal_attack",
        "name-calling",
    )
    assert action.scores is not None and action.scores["attack_on_commenter"] >= 0.5


def test_a_decision_on_an_item_changed_meanwhile_is_refused_and_saves_nothing(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    decide(
        database(seeded_url), item.id, "escalated", moderator=BOB, expected_version=item.version, now=NOW, rules=RULES
    )
    with pytest.raises(StaleVersion) as error:
        _reject(seeded_url, item)
    assert str(error.value) == (
        f"item #{item.id} changed since you opened it: it is now escalated by bob. "
        "Nothing was saved; reload it and decide again"
    )
    assert [a.actor for a in _moderator_actions(seeded_url, item.id)] == ["bob"]


def test_a_decision_on_an_item_another_moderator_holds_is_refused(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    claim(database(seeded_url), item.id, ALICE, NOW, RULES)
    with pytest.raises(AlreadyClaimed, match="being reviewed by alice"):
        _reject(seeded_url, item, who=BOB)
    assert get_item(database(seeded_url), item.id).status == "pending"


def test_a_rejection_needs_a_reason_code_from_the_configured_list(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    with pytest.raises(QueueError, match=r"^a rejection needs a reason: one of personal_attack, insult,"):
        _reject(seeded_url, item, reason_code=None)
    with pytest.raises(QueueError, match=r"^unknown reason 'rude': use one of personal_attack, .*review.reason_codes"):
        _reject(seeded_url, item, reason_code="rude")


def test_escalated_items_are_decided_by_admins_only(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    db = database(seeded_url)
    decide(db, item.id, "escalated", moderator=ALICE, expected_version=item.version, now=NOW, rules=RULES)
    with pytest.raises(NotAllowed, match=f"item #{item.id} is escalated: only an admin can decide it"):
        _reject(seeded_url, get_item(db, item.id), who=BOB)
    assert _reject(seeded_url, get_item(db, item.id), who=ADMIN).status == "rejected"


def test_undo_puts_the_item_back_claimed_by_the_moderator_and_is_audited(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    decided = _reject(seeded_url, item)
    undone = undo_last(database(seeded_url), ALICE, NOW + timedelta(seconds=5))
    after = get_item(database(seeded_url), item.id)
    assert (undone.item_id, undone.was, undone.status) == (item.id, "rejected", "pending")
    assert (after.status, after.version, after.decided_by, after.claimed_by) == (
        "pending",
        item.version + 2,
        None,
        "alice",
    )
    undo = _moderator_actions(seeded_url, item.id)[-1]
    assert (undo.from_status, undo.to_status, undo.undoes_action_id) == ("rejected", "pending", decided.action_id)


def test_undo_restores_the_escalation_an_admin_decision_replaced(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    db = database(seeded_url)
    decide(
        db, item.id, "escalated", moderator=ALICE, expected_version=item.version, now=NOW, rules=RULES, note="unsure"
    )
    _reject(seeded_url, get_item(db, item.id), who=ADMIN)
    undo_last(db, ADMIN, NOW)
    after = get_item(db, item.id)
    assert (after.status, after.decided_by, after.decision_note) == ("escalated", "alice", "unsure")


def test_undo_is_refused_when_someone_changed_the_item_since(seeded_url: str) -> None:
    item = _item(seeded_url, "c6")
    db = database(seeded_url)
    decide(db, item.id, "escalated", moderator=ALICE, expected_version=item.version, now=NOW, rules=RULES)
    _reject(seeded_url, get_item(db, item.id), who=ADMIN)
    with pytest.raises(NothingToUndo) as error:
        undo_last(db, ALICE, NOW)
    assert str(error.value) == (
        f"your last decision (item #{item.id}, escalated) can't be undone: it was changed since (now rejected by root)"
    )


def test_undo_with_no_decision_left_says_so(seeded_url: str) -> None:
    with pytest.raises(NothingToUndo, match=r"^alice has no decision left to undo$"):
        undo_last(database(seeded_url), ALICE, NOW)


def test_bulk_decide_decides_what_it_can_and_reports_the_rest(seeded_url: str) -> None:
    c6, c10 = _item(seeded_url, "c6"), _item(seeded_url, "c10")
    db = database(seeded_url)
    claim(db, c10.id, BOB, NOW, RULES)
    outcome = bulk_decide(
        db, [(c6.id, c6.version), (c10.id, c10.version)], "approved", moderator=ALICE, now=NOW, rules=RULES
    )
    assert [d.comment_id for d in outcome.decided] == ["c6"]
    assert [(item_id, "being reviewed by bob" in why) for item_id, why in outcome.refused] == [(c10.id, True)]


def test_queue_filters_by_label_post_and_author(seeded_url: str) -> None:
    db = database(seeded_url)

    def ids(**filters: str) -> list[str]:
        return [e.comment_id for e in list_items(db, "pending", filters=QueueFilter(**filters))]

    assert ids(label="attack_on_commenter") == ["c6"]
    assert ids(label="insult") == ["c6", "c10"]
    assert ids(author="Slaven") == ["c10"]
    assert ids(post="post-belenko") == ["c6", "c10"]
    assert ids(post="another-post") == []
