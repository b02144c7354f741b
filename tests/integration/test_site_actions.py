"""Decisions reach the site: the SQL source's status column, a signed webhook, a decisions file.

Delivery runs are called with an injected `now`, so retries and backoff are tested without sleeping.
WordPress is tested against a real WordPress in test_wordpress_actions.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from moderation import pipeline
from moderation.cli import cli
from moderation.config import (
    DeliverySettings,
    FileSourceSettings,
    PolicySettings,
    ReviewSettings,
    ScoringSettings,
    SiteActionSettings,
    SqlColumns,
    SqlSourceSettings,
)
from moderation.pipeline import deliver_site_actions
from moderation.review import Moderator, bulk_decide, decide, undo_last
from moderation.review.queue import QueueEntry, list_items
from moderation.storage.engine import database
from moderation.storage.site_actions import list_actions
from moderation.webhooks import verify
from tests.conftest import EXAMPLES, SEED_TIME, seed_review_queue, write_config
from tests.integration.loopback import WebhookServer, free_port

NOW = SEED_TIME + timedelta(hours=1)
RULES = ReviewSettings()
ALICE = Moderator("alice")
DELIVERY = DeliverySettings(first_retry_seconds=30, max_retry_minutes=60)
SECRET = "whsec_" + base64.b64encode(b"site-webhook-key").decode()


def _pending(url: str, comment_id: str) -> QueueEntry:
    return next(e for e in list_items(database(url), "pending") if e.comment_id == comment_id)


def _reject(url: str, comment_id: str, reason: str = "personal_attack") -> None:
    item = _pending(url, comment_id)
    decide(
        database(url),
        item.id,
        "rejected",
        moderator=ALICE,
        expected_version=item.version,
        now=NOW,
        rules=RULES,
        reason_code=reason,
    )


def _examples(actions: SiteActionSettings | None) -> FileSourceSettings:
    return FileSourceSettings(name="examples", kind="jsonl", path=str(EXAMPLES / "seed_thread.jsonl"), actions=actions)


def _webhook_actions(url: str) -> SiteActionSettings:
    return SiteActionSettings(kind="webhook", url=url, secret_env="SITE_SECRET")


# ---- the SQL source ---------------------------------------------------------------------------


FORUM = [
    (1, "Thanks for the link, the second chart answers my question.", None),
    (2, "Slaven, you're an idiot! Nobody asked you, moron.", 1),
    (3, "I disagree with the editor's reading of the treaty.", None),
]


@pytest.fixture
def forum(postgres_url: str) -> Iterator[SqlSourceSettings]:
    """A site's own comments table in PostgreSQL, with a status column the site shows comments by."""
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE forum (id integer PRIMARY KEY, post text, author text, parent integer, "
                "at timestamptz NOT NULL, body text, status text NOT NULL DEFAULT 'published')"
            )
        )
        connection.execute(
            text("INSERT INTO forum (id, post, author, parent, at, body) VALUES (:id, 'p1', :a, :p, :at, :b)"),
            [
                {"id": n, "a": f"user{n}", "p": parent, "at": SEED_TIME + timedelta(minutes=n), "b": body}
                for n, body, parent in FORUM
            ],
        )
    engine.dispose()
    yield SqlSourceSettings(
        name="forum",
        kind="sql",
        url=postgres_url,
        table="forum",
        columns=SqlColumns(post="post", author="author", parent="parent", time="at", text="body"),
        actions=SiteActionSettings(
            status_column="status", statuses={"approve": "published", "reject": "removed", "hold": "held"}
        ),
    )


def _statuses(url: str) -> dict[int, str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, status FROM forum ORDER BY id")).all()
    engine.dispose()
    return {int(row[0]): str(row[1]) for row in rows}


def _moderate(url: str, source: SqlSourceSettings) -> None:
    scoring = ScoringSettings(scorer="lexicon")
    pipeline.ingest(url, source, SEED_TIME)
    for rows in pipeline.plan_batches(url, scoring):
        pipeline.score_batch(url, rows, scoring, PolicySettings(), SEED_TIME, sources=[source])


@pytest.mark.postgres
def test_a_rejection_sets_the_sql_status_column_and_an_undo_restores_it(
    postgres_url: str, forum: SqlSourceSettings
) -> None:
    _moderate(postgres_url, forum)
    _reject(postgres_url, "2")
    report = deliver_site_actions(postgres_url, [forum], DELIVERY, NOW)
    assert (report.applied, report.failed, report.errors) == (1, 0, [])
    assert _statuses(postgres_url) == {1: "published", 2: "removed", 3: "published"}

    undo_last(database(postgres_url), ALICE, NOW)
    assert deliver_site_actions(postgres_url, [forum], DELIVERY, NOW).applied == 1
    assert _statuses(postgres_url)[2] == "published"
    undo, reject = list_actions(database(postgres_url))[:2]
    assert (reject.decision, reject.applied, undo.decision, undo.applied) == (
        "reject",
        "published->removed",
        "undo",
        "removed->published",
    )


@pytest.mark.postgres
def test_pre_moderation_holds_a_flagged_comment_on_the_sql_source_until_approved(
    postgres_url: str, forum: SqlSourceSettings
) -> None:
    assert forum.actions is not None
    held = forum.model_copy(update={"actions": forum.actions.model_copy(update={"hold_threshold": 0.5})})
    _moderate(postgres_url, held)
    assert deliver_site_actions(postgres_url, [held], DELIVERY, NOW).applied == 1
    assert _statuses(postgres_url) == {1: "published", 2: "held", 3: "published"}

    item = _pending(postgres_url, "2")
    decide(
        database(postgres_url),
        item.id,
        "approved",
        moderator=ALICE,
        expected_version=item.version,
        now=NOW,
        rules=RULES,
    )
    deliver_site_actions(postgres_url, [held], DELIVERY, NOW)
    assert _statuses(postgres_url)[2] == "published"


# ---- webhooks -----------------------------------------------------------------------------------


def test_each_decision_reaches_the_webhook_signed(sqlite_url: str) -> None:
    seed_review_queue(sqlite_url)
    _reject(sqlite_url, "c6")
    with WebhookServer() as receiver:
        source = _examples(_webhook_actions(receiver.url))
        report = deliver_site_actions(sqlite_url, [source], DELIVERY, NOW, {"SITE_SECRET": SECRET})
        assert (report.applied, report.failed) == (1, 0)
    (request,) = receiver.received
    assert {k: request.body[k] for k in ("type", "source", "comment_id", "decision", "reason_code", "actor")} == {
        "type": "comment.decision",
        "source": "examples",
        "comment_id": "c6",
        "decision": "reject",
        "reason_code": "personal_attack",
        "actor": "alice",
    }
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert verify(SECRET, headers, request.raw)
    assert not verify(SECRET, headers, request.raw.replace(b"reject", b"approv"))


def test_a_decision_made_while_the_site_is_down_is_delivered_once_when_it_comes_back(sqlite_url: str) -> None:
    seed_review_queue(sqlite_url)
    _reject(sqlite_url, "c6")
    port = free_port()
    source = _examples(_webhook_actions(f"http://127.0.0.1:{port}/decisions"))
    environ = {"SITE_SECRET": SECRET}

    down = deliver_site_actions(sqlite_url, [source], DELIVERY, NOW, environ)
    assert (down.applied, down.retrying) == (0, 1)
    (waiting,) = list_actions(database(sqlite_url))
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == ("pending", 1, NOW + timedelta(seconds=30))
    assert "ConnectError" in (waiting.last_error or "")

    with WebhookServer(port) as receiver:
        assert deliver_site_actions(sqlite_url, [source], DELIVERY, NOW + timedelta(seconds=29), environ).applied == 0
        assert deliver_site_actions(sqlite_url, [source], DELIVERY, NOW + timedelta(seconds=30), environ).applied == 1
        assert deliver_site_actions(sqlite_url, [source], DELIVERY, NOW + timedelta(hours=1), environ).applied == 0
    assert [body["decision"] for body in receiver.bodies()] == ["reject"]
    assert list_actions(database(sqlite_url))[0].status == "delivered"


def test_an_undo_never_reaches_the_site_before_the_decision_it_undoes(sqlite_url: str) -> None:
    seed_review_queue(sqlite_url)
    _reject(sqlite_url, "c6")
    port = free_port()
    source = _examples(_webhook_actions(f"http://127.0.0.1:{port}/decisions"))
    environ = {"SITE_SECRET": SECRET}
    deliver_site_actions(sqlite_url, [source], DELIVERY, NOW, environ)  # the site is down: the reject waits
    undo_last(database(sqlite_url), ALICE, NOW)

    with WebhookServer(port) as receiver:
        receiver.answer(503)  # the reject's retry fails again; the undo behind it must keep waiting
        first = deliver_site_actions(sqlite_url, [source], DELIVERY, NOW + timedelta(minutes=1), environ)
        assert (first.applied, first.retrying) == (0, 2)
        for minutes in (10, 20):
            deliver_site_actions(sqlite_url, [source], DELIVERY, NOW + timedelta(minutes=minutes), environ)
    assert [body["decision"] for body in receiver.bodies()] == ["reject", "undo"]


def test_a_refused_action_is_listed_as_failed_and_retried_on_request(sqlite_url: str, tmp_path: Path) -> None:
    seed_review_queue(sqlite_url)
    _reject(sqlite_url, "c6")
    with WebhookServer() as receiver:
        receiver.answer(400)
        source = _examples(_webhook_actions(receiver.url))
        report = deliver_site_actions(sqlite_url, [source], DELIVERY, NOW, {"SITE_SECRET": SECRET})
    assert report.failed == 1 and "answered 400" in report.errors[0]

    config = write_config(tmp_path / "c.toml", sqlite_url)
    runner = CliRunner()
    listed = runner.invoke(cli, ["actions", "list", "--config", str(config), "--status", "failed", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    (failed,) = json.loads(listed.output)
    assert (failed["decision"], failed["comment_id"], failed["status"]) == ("reject", "c6", "failed")
    assert "answered 400" in failed["last_error"]

    retried = runner.invoke(cli, ["actions", "retry", "--config", str(config), str(failed["id"])])
    assert retried.exit_code == 0, retried.output
    assert list_actions(database(sqlite_url))[0].status == "pending"
    again = runner.invoke(cli, ["actions", "retry", "--config", str(config), str(failed["id"])])
    assert again.exit_code == 1 and "only failed actions can be retried" in again.output


# ---- files, and sources that do not act ---------------------------------------------------------


def test_bulk_decisions_are_appended_to_the_decisions_file(sqlite_url: str, tmp_path: Path) -> None:
    seed_review_queue(sqlite_url)
    decisions = tmp_path / "decisions.jsonl"
    items = [(e.id, e.version) for e in list_items(database(sqlite_url), "pending")]
    bulk_decide(database(sqlite_url), items, "rejected", moderator=ALICE, now=NOW, rules=RULES, reason_code="spam")
    source = _examples(SiteActionSettings(kind="file", path=str(decisions)))
    assert deliver_site_actions(sqlite_url, [source], DELIVERY, NOW).applied == 2
    lines = [json.loads(line) for line in decisions.read_text(encoding="utf-8").splitlines()]
    assert sorted((line["comment_id"], line["decision"], line["reason_code"]) for line in lines) == [
        ("c10", "reject", "spam"),
        ("c6", "reject", "spam"),
    ]


def test_a_source_without_actions_keeps_its_decisions_here_and_says_so(sqlite_url: str) -> None:
    seed_review_queue(sqlite_url)
    _reject(sqlite_url, "c6")
    report = deliver_site_actions(sqlite_url, [_examples(None)], DELIVERY, NOW)
    assert (report.applied, report.skipped) == (0, 1)
    (action,) = list_actions(database(sqlite_url))
    assert action.status == "skipped"
    assert action.last_error == "source examples has no [sources.actions]: decisions stay here"


def test_a_site_asking_to_retry_at_an_http_date_is_retried_then(sqlite_url: str) -> None:
    seed_review_queue(sqlite_url)
    _reject(sqlite_url, "c6")
    retry_at = NOW + timedelta(minutes=10)
    with WebhookServer() as receiver:
        receiver.answer(503, headers={"Retry-After": retry_at.strftime("%a, %d %b %Y %H:%M:%S GMT")})
        source = _examples(_webhook_actions(receiver.url))
        report = deliver_site_actions(sqlite_url, [source], DELIVERY, NOW, {"SITE_SECRET": SECRET})
    assert (report.applied, report.retrying) == (0, 1)
    assert list_actions(database(sqlite_url))[0].next_attempt_at == retry_at
