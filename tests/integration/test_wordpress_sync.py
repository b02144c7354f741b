"""The WordPress source against a real WordPress on loopback: identity, the site's own status changes,
links and threads, and what is read when."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from moderation.cli import cli
from moderation.config import (
    DatabaseSettings,
    PolicySettings,
    ReviewSettings,
    ScoringSettings,
    Settings,
    WebSettings,
    WordPressSourceSettings,
)
from moderation.errors import SourceError
from moderation.pipeline import IngestReport, ingest, plan_batches, score_batch
from moderation.review import Moderator, author_history, claim, decide, undo_last
from moderation.review.accounts import add_user
from moderation.review.queue import QueueEntry, list_items
from moderation.sources.wordpress import WordPressSource
from moderation.storage import store
from moderation.storage.engine import database
from moderation.storage.tables import CommentRow, ModerationActionRow, QueueItemRow
from moderation.web import create_app
from tests.conftest import write_config
from tests.integration.conftest import PASSWORD, login
from tests.integration.wordpress_site import WordPressSite

SOURCE = "blog"
PASSWORD_ENV = "WP_TEST_APP_PASSWORD"


@pytest.fixture
def site(wordpress_site: WordPressSite, monkeypatch: pytest.MonkeyPatch) -> WordPressSite:
    monkeypatch.setenv(PASSWORD_ENV, wordpress_site.application_password)
    return wordpress_site


def _settings(site: WordPressSite, **options: object) -> WordPressSourceSettings:
    return WordPressSourceSettings.model_validate(
        {
            "name": SOURCE,
            "kind": "wordpress",
            "url": site.url,
            "user": site.admin_user,
            "password_env": PASSWORD_ENV,
            **options,
        }
    )


def _run(
    db_url: str, site: WordPressSite, policy: PolicySettings | None = None, now: datetime | None = None
) -> IngestReport:
    """One pipeline run over the site: read, store, score, queue (what the flow does, without Prefect)."""
    when = now or datetime.now(UTC)
    report = ingest(db_url, _settings(site), when)
    scoring = ScoringSettings()
    for rows in plan_batches(db_url, scoring):
        score_batch(db_url, rows, scoring, policy or PolicySettings(), when)
    return report


def _queued(db_url: str, status: str = "pending") -> dict[str, QueueEntry]:
    return {entry.comment_id: entry for entry in list_items(database(db_url), status, limit=10_000)}


def test_a_guest_named_like_a_trusted_user_is_scored_and_queued(site: WordPressSite, sqlite_url: str) -> None:
    post = site.add_post("Identity: trusted staff")
    staff = site.add_comment("You are an idiot and a moron.", author_name="admin", user_id=site.admin_id, post_id=post)
    guest = site.add_comment("You are an idiot and a moron!", author_name="admin", post_id=post)

    _run(sqlite_url, site, PolicySettings(trusted_authors=[f"{SOURCE}:{site.admin_id}"]))

    queued = _queued(sqlite_url)
    assert str(guest["id"]) in queued
    assert queued[str(guest["id"])].author == "admin"
    assert queued[str(guest["id"])].author_id is None
    assert str(staff["id"]) not in queued
    with database(sqlite_url).session() as session:
        passed = session.scalars(
            select(ModerationActionRow.reason)
            .join(CommentRow, ModerationActionRow.comment_id == CommentRow.id)
            .where(CommentRow.external_id == str(staff["id"]))
        ).one()
    assert passed == f"trusted author admin ({SOURCE}:{site.admin_id})"


def test_user_id_and_a_hash_of_the_email_are_stored_never_the_address(site: WordPressSite, sqlite_url: str) -> None:
    post = site.add_post("Identity: two Mikes")
    mike_id = site.add_user("mike_registered_identity")
    registered = site.add_comment("Registered Mike here.", author_name="Mike", user_id=mike_id, post_id=post)
    guest = site.add_comment(
        "Guest Mike here.", author_name="Mike", author_email="Mike.Guest@Example.TEST", post_id=post
    )

    _run(sqlite_url, site)

    with database(sqlite_url).session() as session:
        rows = {
            row.external_id: row
            for row in session.scalars(
                select(CommentRow).where(CommentRow.external_id.in_([str(registered["id"]), str(guest["id"])]))
            )
        }
        stored = {key: (row.author, row.author_id, row.author_email_hash) for key, row in rows.items()}
    assert stored[str(registered["id"])][:2] == ("Mike", str(mike_id))
    assert stored[str(guest["id"])] == ("Mike", None, hashlib.sha256(b"mike.guest@example.test").hexdigest())
    assert b"mike.guest@example.test" not in Path(sqlite_url.removeprefix("sqlite:///")).read_bytes().lower()


def test_author_history_of_a_registered_user_leaves_out_a_guest_of_the_same_name(
    site: WordPressSite, sqlite_url: str
) -> None:
    post = site.add_post("Identity: history")
    mike_id = site.add_user("mike_registered_history")
    site.add_comment("First, as a member.", author_name="Mike H", user_id=mike_id, post_id=post)
    site.add_comment("Second, as a member.", author_name="Mike H", user_id=mike_id, post_id=post)
    site.add_comment("A guest called Mike H.", author_name="Mike H", post_id=post)

    _run(sqlite_url, site)

    db = database(sqlite_url)
    member = author_history(db, SOURCE, "Mike H", author_id=str(mike_id))
    guest = author_history(db, SOURCE, "Mike H")
    assert member.comments == 2
    assert {c.text for c in member.recent} == {"First, as a member.", "Second, as a member."}
    assert guest.comments == 1


def test_a_comment_trashed_in_wordpress_closes_its_queue_item_with_a_site_audit_row(
    site: WordPressSite, db_url: str
) -> None:
    post = site.add_post("Site changes: trash")
    insult = site.add_comment("Trash me, you stupid moron idiot.", author_name="Troll T", post_id=post)
    _run(db_url, site)
    assert str(insult["id"]) in _queued(db_url)

    site.set_status(insult["id"], "trash")
    report = _run(db_url, site)

    assert report.counts.closed_by_site >= 1
    assert str(insult["id"]) not in _queued(db_url)
    closed = _queued(db_url, "rejected")[str(insult["id"])]
    assert (closed.decided_by, closed.decision_note) == ("site", "trash on the site")
    with database(db_url).session() as session:
        trail = session.execute(
            select(ModerationActionRow.actor, ModerationActionRow.from_status, ModerationActionRow.to_status)
            .where(ModerationActionRow.queue_item_id == closed.id)
            .order_by(ModerationActionRow.id)
        ).all()
    assert [tuple(row) for row in trail] == [("system", None, "pending"), ("site", "pending", "rejected")]


def test_a_held_comment_approved_in_wordpress_is_not_queued_twice(site: WordPressSite, db_url: str) -> None:
    post = site.add_post("Site changes: approve")
    held = site.add_comment("Held: you are a stupid moron idiot.", author_name="Troll H", status="hold", post_id=post)
    _run(db_url, site)
    assert _queued(db_url)[str(held["id"])].author == "Troll H"

    site.set_status(held["id"], "approved")
    _run(db_url, site)
    _run(db_url, site)

    with database(db_url).session() as session:
        items = session.execute(
            select(QueueItemRow.status, QueueItemRow.decided_by)
            .join(CommentRow, QueueItemRow.comment_id == CommentRow.id)
            .where(CommentRow.external_id == str(held["id"]))
        ).all()
        comments = session.scalars(select(CommentRow.site_status).where(CommentRow.external_id == str(held["id"])))
        assert list(comments) == ["approved"]
    assert [tuple(item) for item in items] == [("approved", "site")]


def test_a_comment_first_read_from_spam_is_not_stored(site: WordPressSite, sqlite_url: str) -> None:
    post = site.add_post("Site changes: spam")
    spam = site.add_comment("Cheap pills, idiot.", author_name="Spammer", post_id=post)
    site.set_status(spam["id"], "spam")

    _run(sqlite_url, site)

    with database(sqlite_url).session() as session:
        assert session.scalar(select(CommentRow.id).where(CommentRow.external_id == str(spam["id"]))) is None


def test_queue_items_link_to_the_comment_on_the_site_with_the_post_title(
    site: WordPressSite, sqlite_url: str, tmp_path: Path
) -> None:
    post = site.add_post("Links: a post with a title")
    insult = site.add_comment("Linked: you stupid moron idiot.", author_name="Troll L", post_id=post)
    _run(sqlite_url, site)

    entry = _queued(sqlite_url)[str(insult["id"])]
    assert (entry.url, entry.post_title) == (insult["link"], "Links: a post with a title")
    config = write_config(tmp_path / "c.toml", sqlite_url)
    shown = CliRunner().invoke(cli, ["queue", "show", str(entry.id), "--config", str(config)])
    listed = CliRunner().invoke(cli, ["queue", "list", "--limit", "1000", "--config", str(config)])
    assert f"view on site: {insult['link']}" in shown.output
    assert "on Links: a post with a title" in listed.output


def test_a_held_reply_is_scored_with_its_parent_fetched_from_the_site_when_older_than_the_window(
    site: WordPressSite, sqlite_url: str
) -> None:
    now = datetime.now(UTC)
    post = site.add_post("Threads: an old parent")
    slaven_id = site.add_user("slaven_thread")
    written = (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
    parent = site.add_comment(
        "I flew that jet in 1976.", author_name="Slaven", user_id=slaven_id, post_id=post, date_gmt=written
    )
    reply = site.add_comment("Slaven you moron", author_name="Mike R", status="hold", post_id=post, parent=parent["id"])
    # As if the source had been read an hour ago: this run reads the last day, not the 3-day-old parent.
    hour_ago = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    store.set_watermark(database(sqlite_url), SOURCE, {"date": hour_ago, "offset_seconds": 0}, now)

    _run(sqlite_url, site, now=now)

    with database(sqlite_url).session() as session:
        stored_parent = session.scalars(select(CommentRow).where(CommentRow.external_id == str(parent["id"]))).one()
        assert (stored_parent.author, stored_parent.author_id) == ("Slaven", str(slaven_id))
    assert _queued(sqlite_url)[str(reply["id"])].attack_target == "Slaven"


def test_the_window_is_measured_from_the_run_so_a_late_approval_is_read(site: WordPressSite) -> None:
    now = datetime.now(UTC)
    post = site.add_post("Lookback: late approval")
    two_hours_ago = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    held = site.add_comment("Approved late.", author_name="Late", status="hold", post_id=post, date_gmt=two_hours_ago)
    newest = site.add_comment("Newest comment.", author_name="New", post_id=post)
    site.set_status(held["id"], "approved")
    watermark = {"date": newest["date"], "offset_seconds": 0}

    approved_only = _settings(site, statuses=["approve"], lookback_seconds=86400)
    read = {c.id: c for page in WordPressSource(approved_only, now=now).pages(watermark) for c in page.comments}

    assert read[str(held["id"])].site_status == "approved"


def test_an_application_password_over_plain_http_to_another_host_is_refused_saying_https(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "abcd efgh")
    remote = WordPressSourceSettings(
        name=SOURCE, kind="wordpress", url="http://blog.example.org", user="bot", password_env=PASSWORD_ENV
    )
    with pytest.raises(SourceError, match=r"WordPress accepts application passwords only over HTTPS") as refused:
        WordPressSource(remote)
    assert "check user and password_env" not in str(refused.value)


def test_a_refused_application_password_over_plain_http_says_https_first(
    site: WordPressSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong password")
    with pytest.raises(SourceError, match=r"answered 401: .*; WordPress accepts application passwords only over HTTPS"):
        list(WordPressSource(_settings(site)).pages(None))


def test_the_item_page_links_to_the_comment_on_the_site(site: WordPressSite, sqlite_url: str) -> None:
    post = site.add_post("Links: the item page")
    insult = site.add_comment("Item page: you stupid moron idiot.", author_name="Troll W", post_id=post)
    _run(sqlite_url, site)
    item_id = _queued(sqlite_url)[str(insult["id"])].id
    add_user(database(sqlite_url), "alice", PASSWORD, "moderator", datetime.now(UTC))
    settings = Settings(database=DatabaseSettings(url=sqlite_url), web=WebSettings(secret_key=SecretStr("test")))

    with TestClient(create_app(settings), follow_redirects=False) as browser:
        assert login(browser, "alice").status_code == 303
        page = browser.get(f"/items/{item_id}").text

    assert f'href="{insult["link"]}"' in page
    assert "view on site" in page
    assert "Links: the item page" in page


def test_reading_held_comments_without_a_password_says_an_application_password_and_https_are_needed() -> None:
    settings = WordPressSourceSettings(name=SOURCE, kind="wordpress", url="http://blog.example.org", statuses=["hold"])
    with pytest.raises(SourceError, match=r"needs user and password_env .*only over HTTPS"):
        WordPressSource(settings)


def test_a_rejection_undone_and_restored_on_the_site_leaves_the_item_open(site: WordPressSite, sqlite_url: str) -> None:
    post = site.add_post("Site changes: undo")
    insult = site.add_comment("Undo me, you stupid moron idiot.", author_name="Troll U", post_id=post)
    _run(sqlite_url, site)
    db, alice, rules = database(sqlite_url), Moderator("alice"), ReviewSettings()
    item_id = _queued(sqlite_url)[str(insult["id"])].id
    claim(db, item_id, alice, datetime.now(UTC), rules)
    decide(
        db,
        item_id,
        "rejected",
        moderator=alice,
        expected_version=None,
        now=datetime.now(UTC),
        rules=rules,
        reason_code="insult",
    )
    site.set_status(insult["id"], "spam")  # what the rejection does on the site
    _run(sqlite_url, site)

    undo_last(db, alice, datetime.now(UTC))
    site.set_status(insult["id"], "approved")  # what the undo does on the site
    _run(sqlite_url, site)

    assert _queued(sqlite_url)[str(insult["id"])].id == item_id
