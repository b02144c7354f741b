"""The item page shows who reported the comment and why, and the commenter: admins set a state, moderators add
notes (real app, real SQLite database, CSRF-checked forms)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from moderation.config import DatabaseSettings, Settings, WebSettings
from moderation.pipeline import database
from moderation.review.accounts import add_user
from moderation.review.commenters import profile
from moderation.review.queue import list_items
from moderation.web import create_app
from tests.conftest import SEED_TIME
from tests.integration.conftest import PASSWORD, Clock, csrf_of, item_id_of, login
from tests.integration.test_commenters import NOW, RUDE, _record, _run, _source, _write


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    records = [
        _record(1, RUDE, reports=[{"reason": "insults me", "reporter": "reader-7"}]),
        _record(2, RUDE, author_id=None, author="Guest"),
    ]
    _run(sqlite_url, _source(_write(tmp_path / "c.jsonl", records)))
    db = database(sqlite_url)
    add_user(db, "alice", PASSWORD, "moderator", SEED_TIME)
    add_user(db, "root", PASSWORD, "admin", SEED_TIME)
    settings = Settings(database=DatabaseSettings(url=sqlite_url), web=WebSettings(secret_key=SecretStr("test")))
    with TestClient(create_app(settings, clock=Clock(NOW)), follow_redirects=False) as client:
        yield client


def test_the_item_page_shows_who_reported_the_comment_and_why(site: TestClient) -> None:
    login(site, "alice")
    page = site.get(f"/items/{item_id_of(site, 'c1')}").text
    assert "Reader reports: 1" in page
    assert "reader-7" in page and "insults me" in page
    assert "Reported by readers: 1" in page  # the card says why it is queued beyond its scores
    assert 'value="reported"' in site.get("/queue/pending").text  # the reported queue is a filter


def test_an_admin_bans_the_commenter_from_the_item_page_and_it_is_audited(site: TestClient, sqlite_url: str) -> None:
    login(site, "root")
    item = item_id_of(site, "c1")
    page = site.get(f"/items/{item}").text
    assert "Commenter <bdi>user:42</bdi>: no state" in page
    form = {"csrf_token": csrf_of(page), "item_id": str(item), "state": "banned", "days": "7", "note": "threats"}
    assert site.post("/commenters/state", data=form).status_code == 303
    found = profile(database(sqlite_url), "blog", "user:42", NOW)
    assert (found.state, found.set_by, found.state_note) == ("banned", "root", "threats")
    assert "Commenter <bdi>user:42</bdi>: banned until" in site.get(f"/items/{item}").text


def test_an_admin_bans_and_rejects_the_commenters_open_items_from_the_item_page(
    site: TestClient, sqlite_url: str
) -> None:
    login(site, "root")
    item = item_id_of(site, "c1")
    page = site.get(f"/items/{item}").text
    assert '<option value="harassment">banned: reject their open items as harassment</option>' in page
    form = {"csrf_token": csrf_of(page), "item_id": str(item), "state": "banned", "reject_open": "harassment"}
    assert site.post("/commenters/state", data=form).status_code == 303
    shown = site.get(f"/items/{item}").text
    assert "Rejected 1 open item(s)." in shown
    (entry,) = list_items(database(sqlite_url), "rejected")
    assert (entry.comment_id, entry.decided_by, entry.decision_code) == ("c1", "root", "harassment")
    assert [entry.comment_id for entry in list_items(database(sqlite_url), "pending")] == ["c2"]  # the guest's


def test_a_moderator_adds_a_note_but_may_not_set_a_state(site: TestClient, sqlite_url: str) -> None:
    login(site, "alice")
    item = item_id_of(site, "c1")
    token = csrf_of(site.get(f"/items/{item}").text)
    assert (
        site.post("/commenters/notes", data={"csrf_token": token, "item_id": str(item), "note": "warned"}).status_code
        == 303
    )
    refused = site.post("/commenters/state", data={"csrf_token": token, "item_id": str(item), "state": "trusted"})
    assert refused.status_code == 403
    found = profile(database(sqlite_url), "blog", "user:42", NOW)
    assert (found.state, [(e.actor, e.note) for e in found.notes]) == (None, [("alice", "warned")])


def test_a_guest_known_by_name_has_no_commenter_to_change(site: TestClient) -> None:
    login(site, "root")
    item = item_id_of(site, "c2")
    page = site.get(f"/items/{item}").text
    assert "no commenter record" in page
    form = {"csrf_token": csrf_of(page), "item_id": str(item), "state": "trusted"}
    refused = site.post("/commenters/state", data=form)
    assert refused.status_code == 400
    assert "a guest known only by a display name" in refused.text


def test_the_cli_shows_an_items_reports(site: TestClient, sqlite_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from moderation.cli import cli
    from tests.conftest import write_config

    config = write_config(tmp_path / "c.toml", sqlite_url)
    item = item_id_of(login(site, "alice") and site, "c1")
    shown = CliRunner().invoke(cli, ["queue", "show", str(item), "--config", str(config), "--format", "json"])
    assert [(r["reporter"], r["reason"]) for r in json.loads(shown.output)["reports"]] == [("reader-7", "insults me")]
    text = CliRunner().invoke(cli, ["queue", "show", str(item), "--config", str(config)]).output
    assert "reader reports: 1" in text and "reader-7: insults me via source" in text
