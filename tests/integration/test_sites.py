"""Several sites in one installation: per-source policy, ids per source, moderators limited to some sources.

Real SQLite and PostgreSQL; the review UI served by uvicorn on loopback and used over real HTTP.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner, Result
from pydantic import SecretStr
from sqlalchemy import select

from moderation import pipeline
from moderation.cli import cli
from moderation.config import (
    DatabaseSettings,
    FileSourceSettings,
    PolicySettings,
    ScoringSettings,
    Settings,
    SourcePolicySettings,
    WebSettings,
)
from moderation.errors import UnknownItem
from moderation.review import Decided, Moderator, claim, decide, thread_for
from moderation.review.accounts import active_moderator, add_user
from moderation.review.queue import QueueFilter, get_item, list_items
from moderation.storage.engine import database
from moderation.storage.tables import PostRow, QueueItemRow
from moderation.web import create_app
from tests.conftest import EXAMPLES, SEED_TIME, seed_review_queue, write_config

PASSWORD = "correct horse battery"
NOW = SEED_TIME


def _two_sites(db_url: str) -> None:
    """The example thread read as two sites, `blog` and `forum`: the same post id and comment ids on each."""
    seed_review_queue(db_url, source_name="blog")
    seed_review_queue(db_url, source_name="forum")


def _items(db_url: str, **filters: str) -> dict[tuple[str, str], int]:
    entries = list_items(database(db_url), filters=QueueFilter(**filters))  # type: ignore[arg-type]
    return {(e.source, e.comment_id): e.id for e in entries}


# ---- ids are per source -------------------------------------------------------------------------


def _write_site(folder: Path, title: str, comments: list[dict[str, str | None]]) -> tuple[Path, Path]:
    folder.mkdir()
    (folder / "posts.json").write_text(json.dumps({"id": "123", "title": title}), encoding="utf-8")
    lines = [json.dumps({"post_id": "123", "created_at": "2026-01-05T08:00:00Z", **c}) for c in comments]
    (folder / "comments.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "comments.jsonl", folder / "posts.json"


@pytest.mark.usefixtures("prefect_harness")
def test_two_sites_with_the_same_post_id_stay_apart_through_a_flow_run(tmp_path: Path, db_url: str) -> None:
    from flows.moderate import moderate

    attack = "Slaven, you're an idiot!"
    blog = _write_site(
        tmp_path / "blog",
        "Blog: the defector",
        [
            {"id": "c1", "author": "Slaven", "parent_id": None, "text": "What a traitor."},
            {"id": "c2", "author": "Lee", "parent_id": "c1", "text": attack},
        ],
    )
    forum = _write_site(
        tmp_path / "forum",
        "Forum: gardening",
        [
            {"id": "c1", "author": "Mike", "parent_id": None, "text": "Tomatoes need sun."},
            {"id": "c2", "author": "Anna", "parent_id": "c1", "text": attack},
        ],
    )
    sources = "".join(
        f'\n[[sources]]\nname = "{name}"\nkind = "jsonl"\npath = "{comments}"\nposts = "{posts}"\n'
        for name, (comments, posts) in (("blog", blog), ("forum", forum))
    )
    moderate(str(write_config(tmp_path / "c.toml", db_url, sources=sources)))

    db = database(db_url)
    with db.session() as session:
        posts = {(p.source, p.external_id): p.title for p in session.scalars(select(PostRow))}
    assert posts == {("blog", "123"): "Blog: the defector", ("forum", "123"): "Forum: gardening"}
    entries = {(e.source, e.comment_id): e for e in list_items(db)}
    on_blog, on_forum = entries[("blog", "c2")], entries[("forum", "c2")]
    assert (on_blog.attack_target, on_forum.attack_target) == ("Slaven", "Mike")  # each replies to its own c1
    blog_thread, forum_thread = thread_for(db, on_blog), thread_for(db, on_forum)
    assert (blog_thread.post_title, forum_thread.post_title) == ("Blog: the defector", "Forum: gardening")
    assert [c.author for c in blog_thread.ancestors] == ["Slaven"]
    assert [c.author for c in forum_thread.ancestors] == ["Mike"]
    assert ("forum", "c1") not in entries  # "Tomatoes need sun." stays unflagged: the scores did not mix


# ---- a source's own policy --------------------------------------------------------------------


def test_a_source_threshold_override_changes_that_sources_decisions_only(db_url: str) -> None:
    lenient = SourcePolicySettings(thresholds=dict.fromkeys(PolicySettings().thresholds, 1.0))
    sources = [
        FileSourceSettings(name=name, kind="jsonl", path=str(EXAMPLES / "seed_thread.jsonl"), policy=policy)
        for name, policy in (("strict", None), ("lenient", lenient))
    ]
    scoring, policy = ScoringSettings(scorer="lexicon"), PolicySettings()
    for source in sources:
        pipeline.ingest(db_url, source, NOW)
    for rows in pipeline.plan_batches(db_url, scoring):
        pipeline.score_batch(db_url, rows, scoring, policy, NOW, sources=sources)

    queued = _items(db_url)
    assert {("strict", "c6"), ("strict", "c10")} <= set(queued)
    assert [key for key in queued if key[0] == "lenient"] == []


def test_a_sources_blocked_word_queues_only_that_sources_comment(db_url: str) -> None:
    own = SourcePolicySettings(blocked_words=["Belenko"])
    sources = [
        FileSourceSettings(name=name, kind="jsonl", path=str(EXAMPLES / "seed_thread.jsonl"), policy=policy)
        for name, policy in (("plain", None), ("picky", own))
    ]
    scoring = ScoringSettings(scorer="lexicon")
    for source in sources:
        pipeline.ingest(db_url, source, NOW)
    for rows in pipeline.plan_batches(db_url, scoring):
        pipeline.score_batch(db_url, rows, scoring, PolicySettings(), NOW, sources=sources)

    queued = _items(db_url)
    assert ("picky", "c1") in queued  # c1 names Belenko
    assert ("plain", "c1") not in queued


# ---- moderators limited to some sources: the review functions -------------------------------


def test_a_moderator_limited_to_one_source_cannot_claim_or_decide_anothers_item(db_url: str) -> None:
    _two_sites(db_url)
    db = database(db_url)
    carol = add_user(db, "carol", PASSWORD, "moderator", NOW, sources=["forum"])
    blog_item = _items(db_url)[("blog", "c6")]
    rules = Settings().review

    with pytest.raises(UnknownItem, match=f"no queue item #{blog_item}"):
        get_item(db, blog_item, carol)
    with pytest.raises(UnknownItem, match=f"no queue item #{blog_item}"):
        claim(db, blog_item, carol, NOW, rules)
    with pytest.raises(UnknownItem, match=f"no queue item #{blog_item}"):
        _decide(db_url, blog_item, "approved", carol)
    untouched = get_item(db, blog_item)
    assert (untouched.status, untouched.version, untouched.claimed_by) == ("pending", 1, None)
    assert set(_items(db_url, within=frozenset(carol.sources or ()))) == {("forum", "c6"), ("forum", "c10")}


def test_limiting_an_account_takes_effect_on_its_next_request(sqlite_url: str) -> None:
    from moderation.review.accounts import set_sources

    _two_sites(sqlite_url)
    db = database(sqlite_url)
    add_user(db, "carol", PASSWORD, "moderator", NOW)
    assert active_moderator(db, "carol").sources is None
    set_sources(db, "carol", ["blog"], NOW, by="test")
    assert active_moderator(db, "carol") == Moderator("carol", "moderator", frozenset({"blog"}))


def test_a_rejection_takes_its_reason_from_the_items_source(sqlite_url: str) -> None:
    from moderation.errors import QueueError

    _two_sites(sqlite_url)
    items = _items(sqlite_url)
    codes = {"forum": ["abuse"]}
    with pytest.raises(QueueError, match=r"use one of abuse \(reason_codes of source 'forum'"):
        _decide(sqlite_url, items[("forum", "c6")], "rejected", reason_code="insult", codes_by_source=codes)
    forum = _decide(sqlite_url, items[("forum", "c6")], "rejected", reason_code="abuse", codes_by_source=codes)
    blog = _decide(sqlite_url, items[("blog", "c6")], "rejected", reason_code="insult", codes_by_source=codes)
    assert (forum.reason_code, blog.reason_code) == ("abuse", "insult")


def _decide(db_url: str, item_id: int, status: str, moderator: Moderator | None = None, **options: Any) -> Decided:
    """`decide` as an admin (by default), on the item as it is now."""
    return decide(
        database(db_url),
        item_id,
        status,
        moderator=moderator or Moderator("root", "admin"),
        expected_version=None,
        now=NOW,
        rules=Settings().review,
        **options,
    )


# ---- the review UI over real HTTP -------------------------------------------------------------


@pytest.fixture
def two_site_server(sqlite_url: str) -> Iterator[str]:
    """The review UI on a free loopback port over the two sites, with carol (forum only) and dave (all)."""
    _two_sites(sqlite_url)
    db = database(sqlite_url)
    add_user(db, "carol", PASSWORD, "moderator", NOW, sources=["forum"])
    add_user(db, "dave", PASSWORD, "moderator", NOW)
    forum = FileSourceSettings(name="forum", kind="jsonl", path="forum.jsonl", reason_codes=["abuse", "spam"])
    settings = Settings(
        database=DatabaseSettings(url=sqlite_url), web=WebSettings(secret_key=SecretStr("t")), sources=[forum]
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db=db), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:  # waits for the server to listen; no assertion depends on timing
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review UI did not start; its log is above")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@contextmanager
def _browser(base_url: str, name: str) -> Iterator[httpx.Client]:
    """An HTTP client logged in as `name`."""
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as client:
        token = _csrf(client.get("/login").text)
        answer = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303
        yield client


def _cards(html: str) -> set[str]:
    return set(re.findall(r'data-item="(\d+)"', html))


def test_a_moderator_limited_to_one_source_sees_only_its_items_in_the_ui(two_site_server: str) -> None:
    with _browser(two_site_server, "dave") as dave, _browser(two_site_server, "carol") as carol:
        full_page = dave.get("/queue/pending").text
        assert re.search(r'<option value="blog">blog</option>\s*<option value="forum">', full_page)  # source control
        everything = _cards(full_page)
        forum_only = _cards(dave.get("/queue/pending?source=forum").text)
        blog_only = _cards(dave.get("/queue/pending?source=blog").text)
        assert len(everything) == 4 and forum_only | blog_only == everything and not forum_only & blog_only

        post_links = set(re.findall(r'class="post" href="([^"]+)"', full_page))
        assert post_links == {f"/queue/pending?source={name}&amp;post=post-belenko" for name in ("blog", "forum")}
        assert _cards(dave.get("/queue/pending?source=blog&post=post-belenko").text) == blog_only

        page = carol.get("/queue/pending")
        assert page.status_code == 200
        assert _cards(page.text) == forum_only
        assert 'name="source"' not in page.text.split("</form>")[0]  # one source: no source control
        assert _cards(carol.get("/queue/pending?source=blog").text) == set()  # a filter cannot widen the view
        assert "pending 2" in page.text  # the counts are hers too
        for item_id in blog_only:
            assert carol.get(f"/items/{item_id}").status_code == 404


def test_the_forms_offer_the_reason_codes_of_the_items_source(two_site_server: str) -> None:
    with _browser(two_site_server, "dave") as dave, _browser(two_site_server, "carol") as carol:
        assert _reasons(carol.get("/queue/pending").text) == ["abuse", "spam"]  # her only source's
        assert "personal_attack" in _reasons(dave.get("/queue/pending").text)
        assert _reasons(dave.get("/queue/pending?source=forum").text) == ["abuse", "spam"]
        forum_item = sorted(_cards(dave.get("/queue/pending?source=forum").text))[0]
        blog_item = sorted(_cards(dave.get("/queue/pending?source=blog").text))[0]
        assert _reasons(dave.get(f"/items/{forum_item}").text) == ["abuse", "spam"]
        assert "personal_attack" in _reasons(dave.get(f"/items/{blog_item}").text)


def _reasons(html: str) -> list[str]:
    """The reason codes a page offers: the bulk form's list (queue page) or the reject form's (item page)."""
    if '<select name="reason_code"' in html:
        block = html.split('<select name="reason_code"')[1].split("</select>")[0]
        return re.findall(r'<option value="([a-z0-9_]+)">', block)
    return re.findall(r'name="reason_code" value="([a-z0-9_]+)"', html)


def test_a_moderator_limited_to_one_source_cannot_decide_anothers_item_over_http(
    two_site_server: str, sqlite_url: str
) -> None:
    with _browser(two_site_server, "dave") as dave, _browser(two_site_server, "carol") as carol:
        blog_item = sorted(_cards(dave.get("/queue/pending?source=blog").text))[0]
        forum_page = carol.get("/queue/pending").text
        token = _csrf(forum_page)
        refused = carol.post(
            f"/items/{blog_item}/decide",
            data={"csrf_token": token, "decision": "approved", "version": "1"},
        )
        assert refused.status_code == 404
        assert "no queue item" in refused.text
        bulk = carol.post(
            "/bulk",
            data={"csrf_token": token, "decision": "approved", "status": "pending", "items": [f"{blog_item}:1"]},
        )
        assert bulk.status_code == 303
        assert "left alone" in carol.get(bulk.headers["location"]).text

    db = database(sqlite_url)
    with db.session() as session:
        row = session.get_one(QueueItemRow, int(blog_item))
        assert (row.status, row.version, row.claimed_by) == ("pending", 1, None)


def test_the_audit_page_shows_a_limited_moderator_only_their_sources_decisions(
    two_site_server: str, sqlite_url: str
) -> None:
    items = _items(sqlite_url)
    _decide(sqlite_url, items[("blog", "c10")], "approved", Moderator("dave"), note="blog-note")
    _decide(sqlite_url, items[("forum", "c10")], "approved", Moderator("dave"), note="forum-note")
    with _browser(two_site_server, "carol") as carol:
        audit = carol.get("/audit").text
    assert "forum-note" in audit
    assert "blog-note" not in audit


# ---- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli_config(sqlite_url: str, tmp_path: Path) -> Path:
    _two_sites(sqlite_url)
    return write_config(tmp_path / "c.toml", sqlite_url)


def _run(*args: str, config: Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--config", str(config)], input=input)


def _listed(config: Path, *args: str) -> list[dict[str, object]]:
    result = _run("queue", "list", "--format", "json", *args, config=config)
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.output)
    return listed


def test_queue_list_filters_by_source(cli_config: Path) -> None:
    assert {(i["source"], i["comment_id"]) for i in _listed(cli_config, "--source", "blog")} == {
        ("blog", "c6"),
        ("blog", "c10"),
    }
    assert len(_listed(cli_config)) == 4


def test_a_moderator_limited_to_one_source_cannot_see_or_decide_anothers_item_in_the_cli(
    cli_config: Path, sqlite_url: str
) -> None:
    added = _run("user", "add", "carol", "--password-stdin", "--sources", "forum", config=cli_config, input=PASSWORD)
    assert added.exit_code == 0, added.output
    assert {i["source"] for i in _listed(cli_config, "--as", "carol")} == {"forum"}
    assert _listed(cli_config, "--as", "carol", "--source", "blog") == []
    blog_item = str(_items(sqlite_url)[("blog", "c6")])

    shown = _run("queue", "show", blog_item, "--as", "carol", config=cli_config)
    assert shown.exit_code == 1
    assert f"Error: no queue item #{blog_item}" in shown.output
    rejected = _run("queue", "reject", blog_item, "--as", "carol", "--reason", "insult", config=cli_config)
    assert rejected.exit_code == 1
    assert f"no queue item #{blog_item}" in rejected.output
    assert get_item(database(sqlite_url), int(blog_item)).status == "pending"
    assert _run("queue", "show", blog_item, config=cli_config).exit_code == 0  # the operator sees everything


def test_user_set_sources_refuses_an_unknown_source_and_lifts_the_limit_with_all(cli_config: Path) -> None:
    assert _run("user", "add", "carol", "--password-stdin", config=cli_config, input=PASSWORD).exit_code == 0
    unknown = _run("user", "set-sources", "carol", "blgo", config=cli_config)
    assert unknown.exit_code == 1
    assert "Error: unknown source 'blgo': the config and the database know blog, examples, forum" in unknown.output
    assert _run("user", "set-sources", "carol", "blog", config=cli_config).exit_code == 0
    listed = json.loads(_run("user", "list", "--format", "json", config=cli_config).output)
    assert listed[0]["sources"] == ["blog"]
    assert _run("user", "set-sources", "carol", "--all", config=cli_config).exit_code == 0
    listed = json.loads(_run("user", "list", "--format", "json", config=cli_config).output)
    assert listed[0]["sources"] is None


def test_existing_accounts_keep_every_source_after_the_migration(sqlite_url: str) -> None:
    from sqlalchemy import create_engine, text

    from moderation.storage.engine import upgrade

    engine = create_engine(sqlite_url)
    upgrade(engine, "0008")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (name, password_hash, role, created_at) VALUES ('old', 'x', 'moderator', :t)"),
            {"t": datetime.now(UTC)},
        )
    upgrade(engine, "head")
    engine.dispose()
    assert active_moderator(database(sqlite_url), "old").sources is None
