"""The review UI's safety: login everywhere, cookies, CSRF, login throttling, hostile text, error pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from moderation.config import DatabaseSettings, Settings, WebSettings
from moderation.storage.engine import database
from moderation.web import create_app
from moderation.web.app import ROUTERS
from tests.conftest import seed_review_queue
from tests.integration.conftest import PASSWORD, Clock, csrf_of, item_id_of, login, version_of

HOSTILE = 'You idiot <script>alert("xss")</script> <img src=x alt="" onmouseover="alert(1)">'


def test_every_page_and_form_sends_a_visitor_without_login_to_the_login_page(client: TestClient) -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute) and r.path != "/login"]
    checked = []
    for route in routes:
        path = route.path.replace("{item_id}", "1").replace("{status}", "pending")
        for method in sorted(route.methods):
            response = client.request(method, path, data={"csrf_token": "x", "decision": "approved", "version": "1"})
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login"), (method, path)
            assert "c6" not in response.text
            checked.append(f"{method} {route.path}")
    assert sorted(checked) == [
        "GET /",
        "GET /audit",
        "GET /items/{item_id}",
        "GET /queue/{status}",
        "POST /bulk",
        "POST /items/{item_id}/decide",
        "POST /items/{item_id}/release",
        "POST /logout",
        "POST /undo",
    ]


def test_a_page_asked_for_before_login_is_shown_after_it(client: TestClient) -> None:
    assert client.get("/audit?actor=alice").headers["location"] == "/login?next=%2Faudit%3Factor%3Dalice"
    token = csrf_of(client.get("/login?next=/audit").text)
    response = client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "/audit"}
    )
    assert response.headers["location"] == "/audit"


def test_login_goes_only_to_pages_on_this_site(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    data = {"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"}
    assert client.post("/login", data=data).headers["location"] == "/queue/pending"


def test_the_session_cookie_is_httponly_and_samesite_lax(client: TestClient) -> None:
    cookie = login(client, "alice").headers["set-cookie"]
    assert cookie.startswith("moderation_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_the_session_cookie_is_secure_when_moderators_use_https(web_settings: Settings, clock: Clock) -> None:
    settings = web_settings.model_copy(update={"web": WebSettings(base_url="https://mod.example.org")})
    with TestClient(create_app(settings, clock=clock), follow_redirects=False) as https_client:
        assert "secure" in login(https_client, "alice").headers["set-cookie"].lower()


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client: TestClient) -> None:
    for name in ("alice", "nobody"):
        response = login(client, name, "wrong password")
        assert response.status_code == 401
        assert "Wrong user name or password." in response.text


def test_logins_are_blocked_after_five_failures_for_that_user_and_address(client: TestClient) -> None:
    for _ in range(5):
        assert login(client, "alice", "guess").status_code == 401
    blocked = login(client, "alice", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed logins for this user from your address. Try again after 10:15 UTC." in blocked.text
    assert login(client, "root").status_code == 303  # another user from the same address is not blocked


def test_a_successful_login_clears_the_earlier_failures(client: TestClient) -> None:
    for _ in range(4):
        login(client, "alice", "guess")
    assert login(client, "alice").status_code == 303
    client.cookies.clear()
    for _ in range(4):
        assert login(client, "alice", "guess").status_code == 401
    assert login(client, "alice").status_code == 303


def test_a_login_block_lifts_when_the_window_has_passed(client: TestClient, clock: Clock) -> None:
    for _ in range(5):
        login(client, "alice", "guess")
    clock.advance(minutes=15, seconds=1)
    assert login(client, "alice").status_code == 303


def test_a_form_without_the_sessions_csrf_token_is_refused(alice: TestClient) -> None:
    item_id = item_id_of(alice, "c6")
    page = alice.get(f"/items/{item_id}").text
    data = {"decision": "approved", "version": str(version_of(page)), "csrf_token": "forged"}
    response = alice.post(f"/items/{item_id}/decide", data=data)
    assert response.status_code == 403
    assert "This form expired or came from another site." in response.text
    assert f'data-item="{item_id}" data-comment="c6"' in alice.get("/queue/pending").text


def test_a_login_without_csrf_token_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


def test_logging_out_ends_the_session(alice: TestClient) -> None:
    token = csrf_of(alice.get("/queue/pending").text)
    assert alice.post("/logout", data={"csrf_token": token}).headers["location"] == "/login"
    assert alice.get("/queue/pending").status_code == 303


def test_hostile_comment_text_renders_inert(client: TestClient, web_settings: Settings, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.jsonl"
    record = {"id": "h1", "post_id": "p<b>", "author": '"><script>alert(2)</script>', "text": HOSTILE}
    hostile.write_text(json.dumps(record) + "\n")
    seed_review_queue(web_settings.database.url, hostile, source_name="hostile")
    login(client, "alice")
    queue_page = client.get("/queue/pending").text
    item_id = item_id_of(client, "h1")
    for page in (queue_page, client.get(f"/items/{item_id}").text):
        assert "<script>alert" not in page and '" onmouseover=' not in page and "<img" not in page
        assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in page
        assert "&lt;img src=x alt=&#34;&#34; onmouseover=&#34;alert(1)&#34;&gt;" in page
        assert "&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
        assert re.search(r'<mark class="evidence"[^>]*>idiot</mark>', page)


def test_pages_forbid_inline_scripts(alice: TestClient) -> None:
    headers = alice.get("/queue/pending").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_an_unknown_page_renders_the_404_template(alice: TestClient) -> None:
    for path in ("/nowhere", "/items/999", "/items/abc", "/queue/done"):
        response = alice.get(path)
        assert response.status_code == 404, path
        assert "<h1>Not found <small>(404)</small></h1>" in response.text


def test_a_server_error_renders_the_500_template(web_settings: Settings, clock: Clock) -> None:
    with TestClient(create_app(web_settings, clock=clock), raise_server_exceptions=False) as broken:
        login(broken, "alice")
        with database(web_settings.database.url).session() as session:
            session.execute(text("ALTER TABLE scores RENAME TO scores_moved_away"))
        response = broken.get("/queue/pending")
    assert response.status_code == 500
    assert "<h1>Server error <small>(500)</small></h1>" in response.text
    assert "Traceback" not in response.text


def test_without_a_configured_key_sessions_are_signed_with_a_key_kept_in_the_database(
    seeded_sqlite_url: str, web_settings: Settings, clock: Clock
) -> None:
    settings = Settings(database=DatabaseSettings(url=seeded_sqlite_url), web=WebSettings())
    with TestClient(create_app(settings, clock=clock), follow_redirects=False) as first:
        assert login(first, "alice").status_code == 303
        cookies = dict(first.cookies)
    with TestClient(create_app(settings, clock=clock), follow_redirects=False, cookies=cookies) as second:
        assert second.get("/queue/pending").status_code == 200
    keyed = web_settings.model_copy(update={"web": WebSettings(secret_key=SecretStr("another key"))})
    with TestClient(create_app(keyed, clock=clock), follow_redirects=False, cookies=cookies) as third:
        assert third.get("/queue/pending").status_code == 303
