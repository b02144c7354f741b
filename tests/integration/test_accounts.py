"""Server-side sessions and account changes: logout, disable and a new password end sessions at once; the
`user` commands are audited; `--as` needs an active account; the login limit holds under parallel guesses."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from moderation.cli import cli
from moderation.config import Settings, WebSettings
from moderation.review.accounts import account_events, add_user, delete_user, disable_user, set_password
from moderation.review.queue import get_item
from moderation.review.sessions import LoginOutcome, attempt_login
from moderation.storage.engine import database
from moderation.storage.tables import LoginAttemptRow
from tests.conftest import SEED_TIME, write_config
from tests.integration.conftest import PASSWORD, csrf_of, item_id_of, login, version_of

COOKIE = "moderation_session"


def _decide(client: TestClient, item_id: int, csrf: str, version: int) -> int:
    data = {"decision": "approved", "version": str(version), "csrf_token": csrf}
    return client.post(f"/items/{item_id}/decide", data=data).status_code


def test_a_logged_out_cookie_and_its_csrf_token_can_no_longer_decide_items(
    alice: TestClient, web_settings: Settings
) -> None:
    item_id = item_id_of(alice, "c6")
    page = alice.get(f"/items/{item_id}").text
    csrf, version, cookie = csrf_of(page), version_of(page), alice.cookies[COOKIE]
    assert alice.post("/logout", data={"csrf_token": csrf}).headers["location"] == "/login"

    alice.cookies.clear()
    alice.cookies.set(COOKIE, cookie)  # an attacker's copy of the cookie from before the logout
    assert _decide(alice, item_id, csrf, version) == 303
    assert get_item(database(web_settings.database.url), item_id).status == "pending"


def test_the_cookie_carries_a_session_token_not_the_user_name(alice: TestClient) -> None:
    cookie = alice.cookies[COOKIE]
    payload = cookie.split(".")[0]
    decoded = base64.b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert "alice" not in decoded and '"sid"' in decoded


def test_disabling_an_account_ends_its_sessions_at_once(alice: TestClient, web_settings: Settings) -> None:
    db = database(web_settings.database.url)
    item_id = item_id_of(alice, "c6")
    page = alice.get(f"/items/{item_id}").text
    disable_user(db, "alice", SEED_TIME, by="test")
    assert _decide(alice, item_id, csrf_of(page), version_of(page)) == 303
    assert alice.get("/queue/pending").status_code == 303
    assert login(alice, "alice").status_code == 401
    assert get_item(db, item_id).status == "pending"


def test_deleting_an_account_ends_its_sessions_and_keeps_its_decisions_in_the_audit(
    alice: TestClient, web_settings: Settings
) -> None:
    item_id = item_id_of(alice, "c6")
    page = alice.get(f"/items/{item_id}").text
    assert _decide(alice, item_id, csrf_of(page), version_of(page)) == 303
    delete_user(database(web_settings.database.url), "alice", SEED_TIME, by="test")
    assert alice.get("/queue/pending").status_code == 303
    assert login(alice, "root").status_code == 303
    assert "<td><bdi>alice</bdi></td>" in alice.get("/audit").text


def test_a_new_password_ends_the_sessions_and_only_the_new_one_logs_in(
    alice: TestClient, web_settings: Settings
) -> None:
    set_password(database(web_settings.database.url), "alice", "a brand new secret", SEED_TIME, by="test")
    assert alice.get("/queue/pending").status_code == 303
    assert login(alice, "alice").status_code == 401
    assert login(alice, "alice", "a brand new secret").status_code == 303


@pytest.fixture
def config(web_settings: Settings, tmp_path: Path) -> Path:
    """A config for the seeded database that has alice (moderator) and root (admin)."""
    return write_config(tmp_path / "c.toml", web_settings.database.url)


def _run(*args: str, config: Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--config", str(config)], input=input)


def test_user_commands_change_the_account_and_each_leaves_an_audit_row(config: Path, web_settings: Settings) -> None:
    db = database(web_settings.database.url)
    assert _run("user", "disable", "alice", config=config).output == "disabled alice; their sessions are ended\n"
    assert "alice  moderator  since 2026-01-05  (disabled)" in _run("user", "list", config=config).output
    assert attempt_login(db, "alice", PASSWORD, "10.0.0.1", SEED_TIME, WebSettings()).moderator is None
    assert _run("user", "enable", "alice", config=config).exit_code == 0
    assert attempt_login(db, "alice", PASSWORD, "10.0.0.1", SEED_TIME, WebSettings()).moderator is not None
    result = _run("user", "set-password", "alice", "--password-stdin", config=config, input="another long one\n")
    assert result.exit_code == 0, result.output
    assert attempt_login(db, "alice", "another long one", "10.0.0.2", SEED_TIME, WebSettings()).moderator
    assert _run("user", "delete", "alice", config=config).output == "deleted alice\n"
    assert "alice" not in _run("user", "list", config=config).output

    events = account_events(db, "alice")
    assert [e.action for e in events] == ["add", "disable", "enable", "set-password", "delete"]
    assert all(e.actor.startswith("cli") for e in events[1:]) and events[-1].created_at.year >= 2026


def test_user_commands_name_an_unknown_account_in_one_line(config: Path) -> None:
    result = _run("user", "disable", "nobody", config=config)
    assert (result.exit_code, result.output) == (
        1,
        "Error: no user 'nobody': `moderation user list` shows the accounts\n",
    )


def test_decisions_as_a_disabled_or_unknown_account_are_refused(config: Path, web_settings: Settings) -> None:
    disable_user(database(web_settings.database.url), "alice", SEED_TIME, by="test")
    result = _run("queue", "undo", "--as", "alice", config=config)
    assert (result.exit_code, result.output) == (
        1,
        "Error: user 'alice' is disabled: enable it with `moderation user enable alice`\n",
    )
    result = _run("queue", "approve", "1", "--as", "mallory", config=config)
    assert result.output == "Error: no user 'mallory': create one with `moderation user add mallory`\n"


def test_forty_parallel_wrong_passwords_get_at_most_the_limit_of_guesses(db_url: str) -> None:
    db = database(db_url)
    add_user(db, "alice", PASSWORD, "moderator", SEED_TIME)
    web, guesses = WebSettings(login_max_failures=5), 40
    start = threading.Barrier(guesses)
    outcomes: list[LoginOutcome] = []
    lock = threading.Lock()

    def guess(number: int) -> None:
        start.wait()
        outcome = attempt_login(db, "alice", f"guess {number}", "203.0.113.9", SEED_TIME, web)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)

    assert len(outcomes) == guesses
    assert sum(o.blocked_until is None for o in outcomes) == web.login_max_failures
    assert all(o.moderator is None for o in outcomes)
    with db.session() as session:
        assert session.query(LoginAttemptRow).count() == web.login_max_failures
