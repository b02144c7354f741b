"""Working the queue in the review UI: views, claims on open, decisions, undo, bulk, context, audit log."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.integration.conftest import Clock, csrf_of, item_id_of, login, version_of


def _decide(client: TestClient, item_id: int, decision: str, version: int | None = None, **fields: str):  # type: ignore[no-untyped-def]
    """Submit the item page's decision form, as loaded now (or with an older `version`)."""
    page = client.get(f"/items/{item_id}").text
    seen = version_of(page) if version is None else version
    data = {"csrf_token": csrf_of(page), "version": str(seen), "decision": decision, **fields}
    return client.post(f"/items/{item_id}/decide", data=data)


def _cards(page: str) -> list[str]:
    return re.findall(r'data-item="\d+" data-comment="([^"]+)"', page)


def test_the_queue_shows_the_attack_first_with_its_evidence_and_target(alice: TestClient) -> None:
    page = alice.get("/queue/pending").text
    assert _cards(page) == ["c6", "c10"]
    c6 = page.split('data-comment="c6"')[1].split("</li>\n    <li")[0]
    assert '<li class="chip target">attack on <bdi>Slaven</bdi></li>' in c6
    assert "Attack on a commenter 90%" in c6
    assert re.search(r'you’re an <mark class="evidence" title="[^"]*Insult[^"]*">idiot</mark>!', c6)


def test_the_queue_filters_by_label_and_author(alice: TestClient) -> None:
    assert _cards(alice.get("/queue/pending?label=attack_on_commenter").text) == ["c6"]
    assert _cards(alice.get("/queue/pending?author=Slaven").text) == ["c10"]


def test_opening_an_item_claims_it(alice: TestClient) -> None:
    item_id = item_id_of(alice, "c6")
    assert "You are reviewing this item." in alice.get(f"/items/{item_id}").text
    assert "Being reviewed by <bdi>alice</bdi>" in _as(alice, "root").get("/queue/pending").text


def test_an_item_another_moderator_holds_is_shown_without_decision_forms(alice: TestClient) -> None:
    item_id = item_id_of(alice, "c6")
    alice.get(f"/items/{item_id}")
    page = _as(alice, "root").get(f"/items/{item_id}").text
    assert "Being reviewed by <bdi>alice</bdi>; free again at 2026-01-05 10:15 UTC." in page
    assert 'id="reject-form"' not in page


def test_rejecting_with_a_reason_records_it_and_opens_the_next_item(alice: TestClient) -> None:
    item_id = item_id_of(alice, "c6")
    response = _decide(alice, item_id, "rejected", reason_code="personal_attack", note="calls Slaven an idiot")
    assert response.status_code == 303
    assert response.headers["location"] == f"/items/{item_id_of(alice, 'c10')}"
    assert _cards(alice.get("/queue/pending").text) == ["c10"]
    rejected = alice.get("/queue/rejected").text
    assert _cards(rejected) == ["c6"]
    assert (
        "Rejected by <bdi>alice</bdi> 2026-01-05 10:00 UTC · Personal attack · “<bdi>calls Slaven an idiot</bdi>”"
        in rejected
    )


def test_a_decision_on_an_item_changed_since_it_was_opened_is_refused_with_409(alice: TestClient, clock: Clock) -> None:
    item_id = item_id_of(alice, "c6")
    opened = alice.get(f"/items/{item_id}").text
    clock.advance(minutes=16)  # alice's claim goes stale; root takes the item and approves it
    root = _as(alice, "root")
    assert _decide(root, item_id, "approved").status_code == 303
    response = _decide(_as(root, "alice"), item_id, "rejected", version=version_of(opened), reason_code="insult")
    assert response.status_code == 409
    assert f"item #{item_id} changed since you opened it: it is now approved by root." in response.text
    assert "Nothing was saved; reload it and decide again" in response.text


def test_a_rejection_without_a_reason_is_refused_with_the_list_of_reasons(alice: TestClient) -> None:
    response = _decide(alice, item_id_of(alice, "c6"), "rejected")
    assert response.status_code == 400
    assert "a rejection needs a reason: one of personal_attack, insult, hate_speech" in response.text


def test_undo_puts_ones_last_decision_back_in_the_queue(alice: TestClient) -> None:
    item_id = item_id_of(alice, "c6")
    _decide(alice, item_id, "approved")
    response = alice.post("/undo", data={"csrf_token": csrf_of(alice.get("/queue/pending").text)})
    assert response.headers["location"] == f"/items/{item_id}"
    page = alice.get(f"/items/{item_id}").text
    assert f"Undid your approved decision on item #{item_id} (c6); it is pending again." in page
    assert _cards(alice.get("/queue/pending").text) == ["c6", "c10"]


def test_undo_with_nothing_to_undo_says_so(alice: TestClient) -> None:
    response = alice.post("/undo", data={"csrf_token": csrf_of(alice.get("/queue/pending").text)})
    assert response.status_code == 409
    assert "alice has no decision left to undo" in response.text


def test_bulk_reject_decides_every_selected_item(alice: TestClient) -> None:
    page = alice.get("/queue/pending").text
    selection = re.findall(r'name="items" value="([\d:]+)"', page)
    data = {"csrf_token": csrf_of(page), "decision": "rejected", "reason_code": "insult", "items": selection}
    response = alice.post("/bulk", data=data)
    assert response.headers["location"] == "/queue/pending"
    after = alice.get("/queue/pending").text
    assert "Rejected 2 of 2 selected items." in after and _cards(after) == []
    assert _cards(alice.get("/queue/rejected").text) == ["c6", "c10"]


def test_bulk_leaves_items_another_moderator_holds_and_says_why(alice: TestClient) -> None:
    page = alice.get("/queue/pending").text
    selection = re.findall(r'name="items" value="([\d:]+)"', page)
    root = _as(alice, "root")
    root.get(f"/items/{item_id_of(root, 'c10')}")
    alice = _as(root, "alice")
    response = alice.post(
        "/bulk", data={"csrf_token": csrf_of(alice.get("/audit").text), "decision": "approved", "items": selection}
    )
    after = alice.get(response.headers["location"]).text
    assert "Approved 1 of 2 selected items." in after
    assert "left alone: item #" in after and "is being reviewed by root" in after


def test_bulk_with_nothing_selected_says_so(alice: TestClient) -> None:
    page = alice.get("/queue/pending").text
    alice.post("/bulk", data={"csrf_token": csrf_of(page), "decision": "approved"})
    assert "Nothing selected: tick items (or press x on them) first." in alice.get("/queue/pending").text


def test_escalated_items_are_for_admins(alice: TestClient) -> None:
    item_id = item_id_of(alice, "c6")
    _decide(alice, item_id, "escalated", note="not sure")
    page = alice.get(f"/items/{item_id}").text
    assert 'id="reject-form"' not in page and "Escalated: an admin decides this item." in page
    root = _as(alice, "root")
    assert _decide(root, item_id, "rejected", reason_code="personal_attack").headers["location"] == "/queue/escalated"


def test_the_item_page_shows_the_thread_and_the_authors_history(alice: TestClient) -> None:
    page = alice.get(f"/items/{item_id_of(alice, 'c10')}").text
    assert "<h2><bdi>Slaven</bdi>: 2 comments, 1 flagged, 0 rejected</h2>" in page
    history = page.split('aria-label="Author history"')[1]
    assert "<bdi>c5</bdi> · 2017-08-12 13:35 UTC" in history
    c6_page = alice.get(f"/items/{item_id_of(alice, 'c6')}").text
    thread = c6_page.split('aria-label="Thread"')[1].split('aria-label="Author history"')[0]
    assert "↳ replying to <bdi>Lee Lindberg</bdi>" in thread
    assert '<span class="author"><bdi>Slaven</bdi></span> <span class="chip target">attack target</span>' in thread


def test_the_audit_log_shows_each_decision_with_its_reason(alice: TestClient) -> None:
    _decide(alice, item_id_of(alice, "c6"), "rejected", reason_code="personal_attack", note="name-calling")
    log = alice.get("/audit?actor=alice").text
    row = log.split('<tr class="action" data-comment="c6">')[1].split("</tr>")[0]
    assert (
        "<td><bdi>alice</bdi></td>" in row
        and "pending → rejected" in row
        and "Personal attack: <bdi>name-calling</bdi>" in row
    )
    assert 'data-comment="c10"' not in log


def _as(client: TestClient, name: str) -> TestClient:
    """The same TestClient, now logged in as `name` (a fresh session)."""
    client.cookies.clear()
    assert login(client, name).status_code == 303
    return client
