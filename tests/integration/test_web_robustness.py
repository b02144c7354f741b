"""The review UI under odd requests and data: out-of-range ids, health checks, parent cycles, huge comments."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine

from moderation.config import DatabaseSettings, Settings, WebSettings
from moderation.review import thread_for
from moderation.review.accounts import add_user
from moderation.review.queue import list_items
from moderation.storage.engine import Database, database
from moderation.web import create_app
from moderation.web.cards import CARD_TEXT_CHARS
from tests.conftest import SEED_TIME, seed_review_queue
from tests.integration.conftest import PASSWORD, Clock, csrf_of, item_id_of, login

HUGE_IDS = ("9223372036854775808", "2147483648", "99999999999999999999999")


@pytest.fixture
def moderator_on_each_database(seeded_url: str, clock: Clock) -> Iterator[TestClient]:
    """alice, logged in to the UI on the seeded database, SQLite then PostgreSQL."""
    add_user(database(seeded_url), "alice", PASSWORD, "moderator", SEED_TIME)
    settings = Settings(database=DatabaseSettings(url=seeded_url), web=WebSettings(secret_key=SecretStr("t")))
    with TestClient(create_app(settings, clock=clock), follow_redirects=False) as client:
        assert login(client, "alice").status_code == 303
        yield client


def test_item_ids_beyond_the_columns_range_are_not_found_not_a_server_error(
    moderator_on_each_database: TestClient,
) -> None:
    client = moderator_on_each_database
    csrf = csrf_of(client.get("/queue/pending").text)
    for huge in HUGE_IDS:
        assert client.get(f"/items/{huge}").status_code == 404, huge
        decided = client.post(
            f"/items/{huge}/decide", data={"csrf_token": csrf, "decision": "approved", "version": "1"}
        )
        assert decided.status_code == 404, huge
        assert client.post(f"/items/{huge}/release", data={"csrf_token": csrf}).status_code == 404, huge
        bulk = client.post("/bulk", data={"csrf_token": csrf, "decision": "approved", "items": [f"{huge}:1"]})
        assert bulk.status_code == 400 and "bad selection" in bulk.text, huge
    item_id = item_id_of(client, "c6")
    too_new = {"csrf_token": csrf, "decision": "approved", "version": HUGE_IDS[0]}
    assert client.post(f"/items/{item_id}/decide", data=too_new).status_code == 400


def test_healthz_answers_without_login_and_readyz_checks_the_database(client: TestClient) -> None:
    assert (client.get("/healthz").status_code, client.get("/healthz").text) == (200, "ok\n")
    assert (client.get("/readyz").status_code, client.get("/readyz").text) == (200, "ready\n")


def test_readyz_answers_503_when_the_database_is_down(web_settings: Settings) -> None:
    unreachable = Database(create_engine("postgresql+psycopg://postgres@127.0.0.1:9/nothing"))
    with TestClient(create_app(web_settings, db=unreachable), follow_redirects=False) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.text.startswith("not ready: the database does not answer") and "postgres@" not in ready.text


def _seed(url: str, tmp_path: Path, *records: dict[str, object]) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    seed_review_queue(url, path, source_name="odd")


def test_a_comment_that_is_its_own_parent_is_not_its_own_ancestor_or_reply(seeded_url: str, tmp_path: Path) -> None:
    _seed(
        seeded_url, tmp_path, {"id": "loop", "post_id": "p", "author": "Ann", "parent_id": "loop", "text": "You idiot."}
    )
    db = database(seeded_url)
    thread = thread_for(db, next(e for e in list_items(db) if e.comment_id == "loop"))
    assert [c.comment_id for c in (*thread.ancestors, *thread.before, *thread.replies, *thread.after)] == []
    assert thread.comment.comment_id == "loop"


def test_a_parent_cycle_shows_each_comment_once(seeded_url: str, tmp_path: Path) -> None:
    _seed(
        seeded_url,
        tmp_path,
        {"id": "a", "post_id": "p", "author": "Ann", "parent_id": "b", "text": "You idiot."},
        {"id": "b", "post_id": "p", "author": "Bob", "parent_id": "a", "text": "Thanks."},
    )
    db = database(seeded_url)
    thread = thread_for(db, next(e for e in list_items(db) if e.comment_id == "a"))
    assert [c.comment_id for c in thread.ancestors] == ["b"]
    assert [c.comment_id for c in thread.replies] == []


def test_a_huge_comment_is_folded_on_its_card_and_shown_whole_on_its_item_page(
    client: TestClient, web_settings: Settings, tmp_path: Path
) -> None:
    text = "You idiot. " + "blah " * 200_000  # a megabyte
    _seed(web_settings.database.url, tmp_path, {"id": "big", "post_id": "p", "author": "Ann", "text": text})
    login(client, "alice")
    queue_page = client.get("/queue/pending").text
    card = queue_page.split('data-comment="big"')[1].split('<li class="card"')[0].split("</ol>")[0]
    shown = re.sub(r"<[^>]+>", "", card.split('<p class="text">')[1].split("</p>")[0])
    assert len(shown) == CARD_TEXT_CHARS
    item_id = item_id_of(client, "big")
    assert f'<a href="/items/{item_id}">show more</a> ({len(text) - CARD_TEXT_CHARS} more characters)' in card
    assert len(queue_page) < 100_000
    assert text.strip() in re.sub(r"<[^>]+>", "", client.get(f"/items/{item_id}").text)
