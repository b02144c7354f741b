"""Decisions act on a real WordPress (served on loopback by tests/integration/wordpress_site.py): a reject
in the review UI trashes or spams the comment, an approve of a held comment publishes it, an undo puts
it back, and an action made while WordPress is down is applied once when it is up again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from moderation import pipeline
from moderation.config import (
    DatabaseSettings,
    DeliverySettings,
    PolicySettings,
    ScoringSettings,
    Settings,
    SiteActionSettings,
    WebSettings,
    WordPressSourceSettings,
)
from moderation.errors import ConfigError
from moderation.pipeline import deliver_site_actions
from moderation.review.accounts import add_user
from moderation.sources.actions import build_applier
from moderation.storage.engine import database
from moderation.storage.site_actions import list_actions
from moderation.storage.tables import CommentRow
from moderation.web import create_app
from tests.conftest import SEED_TIME
from tests.integration.conftest import PASSWORD, Clock, csrf_of, item_id_of, login, version_of
from tests.integration.wordpress_site import WordPressSite

NOW = SEED_TIME + timedelta(hours=1)
DELIVERY = DeliverySettings(first_retry_seconds=30, max_retry_minutes=60)
INSULT = "{name}, you're an idiot! Nobody asked you, moron."


@pytest.fixture
def blog(wordpress_site: WordPressSite, monkeypatch: pytest.MonkeyPatch) -> WordPressSourceSettings:
    monkeypatch.setenv("WP_APP_PASSWORD", wordpress_site.application_password)
    return WordPressSourceSettings(
        name="blog",
        kind="wordpress",
        url=wordpress_site.url,
        user=wordpress_site.admin_user,
        password_env="WP_APP_PASSWORD",
        actions=SiteActionSettings(reject_status="trash", reject_status_by_reason={"spam": "spam"}),
    )


def _moderate(url: str, source: WordPressSourceSettings) -> None:
    """One pipeline run without Prefect: read the blog, score with the lexicon scorer, queue what is flagged."""
    scoring = ScoringSettings(scorer="lexicon")
    pipeline.ingest(url, source, NOW)
    for rows in pipeline.plan_batches(url, scoring):
        pipeline.score_batch(url, rows, scoring, PolicySettings(), NOW, sources=[source])


@pytest.fixture
def ui(sqlite_url: str) -> Iterator[TestClient]:
    """The review UI on the moderation database, logged in as the moderator alice."""
    add_user(database(sqlite_url), "alice", PASSWORD, "moderator", SEED_TIME)
    settings = Settings(database=DatabaseSettings(url=sqlite_url), web=WebSettings(secret_key=SecretStr("test")))
    with TestClient(create_app(settings, clock=Clock(NOW)), follow_redirects=False) as client:
        assert login(client, "alice").status_code == 303
        yield client


def _decide(client: TestClient, comment_id: int, decision: str, status: str = "pending", **fields: str) -> None:
    item_id = item_id_of(client, str(comment_id), status)
    page = client.get(f"/items/{item_id}").text
    data = {"csrf_token": csrf_of(page), "version": str(version_of(page)), "decision": decision, **fields}
    assert client.post(f"/items/{item_id}/decide", data=data).status_code == 303


def _stored_site_status(url: str, comment_id: int) -> str | None:
    with database(url).session() as session:
        return session.scalar(select(CommentRow.site_status).where(CommentRow.external_id == str(comment_id)))


def _undo(client: TestClient) -> None:
    assert client.post("/undo", data={"csrf_token": csrf_of(client.get("/queue/pending").text)}).status_code == 303


def test_a_reject_in_the_review_ui_trashes_the_comment_and_undo_restores_it(
    wordpress_site: WordPressSite, blog: WordPressSourceSettings, sqlite_url: str, ui: TestClient
) -> None:
    post = wordpress_site.add_post("Actions: reject and undo")
    comment = wordpress_site.add_comment(INSULT.format(name="Slaven"), author_name="Lee", post_id=post)
    _moderate(sqlite_url, blog)

    _decide(ui, comment["id"], "rejected", reason_code="personal_attack")
    assert deliver_site_actions(sqlite_url, [blog], DELIVERY, NOW).applied == 1
    assert wordpress_site.comment(comment["id"])["status"] == "trash"
    assert _stored_site_status(sqlite_url, comment["id"]) == "trash"  # the next read sees no change of the site's

    _undo(ui)
    assert deliver_site_actions(sqlite_url, [blog], DELIVERY, NOW).applied == 1
    assert wordpress_site.comment(comment["id"])["status"] == "approved"
    assert _stored_site_status(sqlite_url, comment["id"]) == "approved"
    _moderate(sqlite_url, blog)  # reading our own changes back closes nothing: the item waits for a decision
    assert item_id_of(ui, str(comment["id"]))
    undo, reject = list_actions(database(sqlite_url))[:2]
    assert (reject.applied, undo.applied) == ("approved->trash", "trash->approved")


def test_a_reject_for_spam_marks_the_comment_as_spam(
    wordpress_site: WordPressSite, blog: WordPressSourceSettings, sqlite_url: str, ui: TestClient
) -> None:
    post = wordpress_site.add_post("Actions: spam")
    comment = wordpress_site.add_comment(INSULT.format(name="Anna"), author_name="Spammer", post_id=post)
    _moderate(sqlite_url, blog)
    _decide(ui, comment["id"], "rejected", reason_code="spam")
    deliver_site_actions(sqlite_url, [blog], DELIVERY, NOW)
    assert wordpress_site.comment(comment["id"])["status"] == "spam"


def test_pre_moderation_holds_a_flagged_comment_and_an_approve_publishes_it(
    wordpress_site: WordPressSite, blog: WordPressSourceSettings, sqlite_url: str, ui: TestClient
) -> None:
    assert blog.actions is not None
    premoderated = blog.model_copy(update={"actions": blog.actions.model_copy(update={"hold_threshold": 0.5})})
    post = wordpress_site.add_post("Actions: pre-moderation")
    flagged = wordpress_site.add_comment(INSULT.format(name="Mara"), author_name="Ivo", post_id=post)
    civil = wordpress_site.add_comment("Thanks, the second chart answers my question.", author_name="Ana", post_id=post)

    _moderate(sqlite_url, premoderated)  # the site is shared: other tests' comments are read (and held) too
    deliver_site_actions(sqlite_url, [premoderated], DELIVERY, NOW)
    assert wordpress_site.comment(flagged["id"])["status"] == "hold"
    assert wordpress_site.comment(civil["id"])["status"] == "approved"

    _decide(ui, flagged["id"], "approved")
    deliver_site_actions(sqlite_url, [premoderated], DELIVERY, NOW)
    assert wordpress_site.comment(flagged["id"])["status"] == "approved"
    _undo(ui)
    deliver_site_actions(sqlite_url, [premoderated], DELIVERY, NOW)
    assert wordpress_site.comment(flagged["id"])["status"] == "hold"


def test_a_reject_made_while_wordpress_is_down_is_applied_once_when_it_is_back(
    wordpress_site: WordPressSite, blog: WordPressSourceSettings, sqlite_url: str, ui: TestClient
) -> None:
    post = wordpress_site.add_post("Actions: site down")
    comment = wordpress_site.add_comment(INSULT.format(name="Tom"), author_name="Kai", post_id=post)
    _moderate(sqlite_url, blog)
    _decide(ui, comment["id"], "rejected", reason_code="insult")

    with wordpress_site.down():
        down = deliver_site_actions(sqlite_url, [blog], DELIVERY, NOW)
    assert (down.applied, down.retrying) == (0, 1)
    assert "failed" in down.errors[0]

    assert deliver_site_actions(sqlite_url, [blog], DELIVERY, NOW + timedelta(seconds=29)).applied == 0
    assert deliver_site_actions(sqlite_url, [blog], DELIVERY, NOW + timedelta(seconds=30)).applied == 1
    assert deliver_site_actions(sqlite_url, [blog], DELIVERY, NOW + timedelta(hours=2)).applied == 0
    assert wordpress_site.comment(comment["id"])["status"] == "trash"
    (action,) = list_actions(database(sqlite_url))
    assert (action.comment_id, action.status, action.attempts) == (str(comment["id"]), "delivered", 2)


def test_a_wrong_application_password_fails_the_action_with_the_reason(
    wordpress_site: WordPressSite, blog: WordPressSourceSettings, sqlite_url: str, ui: TestClient
) -> None:
    post = wordpress_site.add_post("Actions: wrong password")
    comment = wordpress_site.add_comment(INSULT.format(name="Eve"), author_name="Bo", post_id=post)
    _moderate(sqlite_url, blog)
    _decide(ui, comment["id"], "rejected", reason_code="insult")
    report = deliver_site_actions(sqlite_url, [blog], DELIVERY, NOW, {"WP_APP_PASSWORD": "wrong password here"})
    assert report.failed == 1
    assert "answered 401" in report.errors[0] and "application password" in report.errors[0]
    assert wordpress_site.comment(comment["id"])["status"] == "approved"


def test_plain_http_to_a_site_that_is_not_on_loopback_is_refused_before_any_request(tmp_path: Path) -> None:
    source = WordPressSourceSettings(
        name="blog",
        kind="wordpress",
        url="http://blog.example.org",
        user="bot",
        password_env="WP_APP_PASSWORD",
        actions=SiteActionSettings(),
    )
    with pytest.raises(ConfigError, match="WordPress accepts application passwords only over HTTPS"):
        build_applier(source, {"WP_APP_PASSWORD": "x"})
