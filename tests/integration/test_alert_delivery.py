"""Delivering alerts to real servers on 127.0.0.1: webhooks over HTTP, mail over SMTP with STARTTLS.

Time is injected (`now`), so backoff is tested without sleeping.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moderation.alerts.channels import EmailChannel, WebhookChannel, build_channels
from moderation.alerts.outbox import deliver_due
from moderation.alerts.triggers import queue_alert_rule
from moderation.config import AlertsSettings, DeliverySettings
from moderation.storage import outbox, store
from moderation.storage.engine import Database, open_database
from moderation.webhooks import verify
from tests.integration.loopback import SECRET_PATH, SmtpServer, WebhookServer, free_port
from tests.integration.test_alert_outbox import _results

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
BASE_URL = "https://moderation.example.org"
DELIVERY = DeliverySettings(first_retry_seconds=30, max_retry_minutes=60)
SMTP_USER, SMTP_PASSWORD = "alerts@example.org", "smtp-pa55word-do-not-log"


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path, SMTP_USER, SMTP_PASSWORD) as server:
        yield server


def _settings(channels: list[dict[str, object]], **extra: object) -> AlertsSettings:
    return AlertsSettings.model_validate(
        {
            "base_url": BASE_URL,
            "channels": channels,
            "pile_on": {"flagged": 2, "attacks": 0, "window_minutes": 2 * 24 * 60},
            **extra,
        }
    )


def _seed(db: Database, settings: AlertsSettings) -> int:
    """The seed thread scored and queued; its alerts written to the outbox (not yet delivered)."""
    counts = store.save_results(db, _results(db), "lexicon", "lexicon-1+thread1", NOW, queue_alert_rule(settings))
    return counts.alerts


def _deliver(db: Database, settings: AlertsSettings, environ: dict[str, str], now: datetime = NOW):  # type: ignore[no-untyped-def]
    return deliver_due(db, build_channels(settings, environ), settings.base_url, DELIVERY, now)


def test_slack_webhook_receives_post_worst_comments_and_review_links(webhook: WebhookServer, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    settings = _settings([{"name": "slack", "kind": "slack", "url_env": "SLACK_URL", "alert_kinds": ["severe"]}])
    assert _seed(db, settings) == 1
    report = _deliver(db, settings, {"SLACK_URL": webhook.url})
    assert (report.delivered, report.failed, report.retrying) == (1, 0, 0)
    (request,) = webhook.received
    assert request.path == SECRET_PATH
    assert request.headers["Content-Type"] == "application/json"
    body = request.body
    item_id = outbox.list_alerts(db)[0].payload["comments"][0]["item_id"]
    assert (
        body["blocks"][0]["text"]["text"]
        == "Severe comment on “Russian Pilot Escaped to USA on Super Secret Air Force MiG-25 Jet”"
    )
    assert "attack_on_commenter ≥ 0.9" in body["blocks"][1]["text"]["text"]
    comment = body["blocks"][2]["text"]["text"]
    assert comment.startswith("*Lee Lindberg* (")
    assert f"<{BASE_URL}/items/{item_id}|#{item_id}>" in comment
    assert "attack on Slaven" in comment and "\n>Slaven, you’re an idiot!" in comment
    assert body["blocks"][-1]["elements"][0]["url"] == f"{BASE_URL}/items/{item_id}"
    assert "Severe comment on" in body["text"]
    db.dispose()


def test_generic_webhook_gets_the_whole_alert_as_json(webhook: WebhookServer, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    settings = _settings([{"name": "hook", "kind": "webhook", "url_env": "HOOK", "alert_kinds": ["pile_on"]}])
    _seed(db, settings)
    _deliver(db, settings, {"HOOK": webhook.url})
    (body,) = webhook.bodies()
    assert (body["kind"], body["source"], body["post_id"]) == ("pile_on", "examples", "post-belenko")
    assert body["facts"]["flagged"] == 2 and body["facts"]["window_minutes"] == 2880
    assert body["title"].startswith("Pile-on on “Russian Pilot")
    assert [c["comment_id"] for c in body["comments"]] == ["c6", "c10"]  # worst first
    assert body["comments"][0]["link"] == f"{BASE_URL}/items/{body['comments'][0]['item_id']}"
    assert body["link"] == body["comments"][0]["link"]
    assert webhook.received[0].headers["Idempotency-Key"] == f"{body['id']}:{body['key']}"
    db.dispose()


def test_a_webhook_with_a_signing_secret_is_signed_in_the_standard_webhooks_format(
    webhook: WebhookServer, sqlite_url: str
) -> None:
    db = open_database(sqlite_url)
    channel = {"name": "hook", "kind": "webhook", "url_env": "HOOK", "signing_secret_env": "HOOK_SECRET"}
    settings = _settings([{**channel, "alert_kinds": ["pile_on"]}])
    _seed(db, settings)
    secret = "whsec_" + base64.b64encode(b"alert-signing-key").decode()
    _deliver(db, settings, {"HOOK": webhook.url, "HOOK_SECRET": secret})
    (request,) = webhook.received
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["webhook-id"] == f"alert_{request.body['id']}"
    assert verify(secret, headers, request.raw)
    assert not verify("whsec_" + base64.b64encode(b"another-key").decode(), headers, request.raw)
    assert not verify(secret, headers, request.raw.replace(b"pile_on", b"pile_of"))
    db.dispose()


def test_email_goes_over_starttls_with_login_and_quotes_the_comments(smtp: SmtpServer, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    mail = {
        "name": "mail",
        "kind": "email",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "security": "starttls",
        "ca_file": smtp.cert_file,
        "username": SMTP_USER,
        "password_env": "SMTP_PASSWORD",
        "sender": "alerts@example.org",
        "recipients": ["mods@example.org", "lead@example.org"],
        "alert_kinds": ["severe"],
    }
    settings = _settings([mail])
    _seed(db, settings)
    report = _deliver(db, settings, {"SMTP_PASSWORD": SMTP_PASSWORD})
    assert report.delivered == 1, report.errors
    assert smtp.logins == [(SMTP_USER, True)]
    ((sender, recipients, message),) = smtp.messages
    assert (sender, recipients) == ("alerts@example.org", ["mods@example.org", "lead@example.org"])
    assert (
        message["Subject"]
        == "[moderation] Severe comment on “Russian Pilot Escaped to USA on Super Secret Air Force MiG-25 Jet”"
    )
    assert message["Message-ID"].startswith(f"<alert-{outbox.list_alerts(db)[0].id}-")
    text = message.get_content()
    assert "* Lee Lindberg (" in text and "Slaven, you’re an idiot!" in text
    assert f"{BASE_URL}/items/" in text and "Post: Russian Pilot Escaped" in text
    db.dispose()


def test_email_can_use_tls_from_the_first_byte(tmp_path: Path, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft(channels=("mail",))], NOW)
    with SmtpServer(tmp_path, SMTP_USER, SMTP_PASSWORD, security="tls") as server:
        channel = EmailChannel(
            "mail",
            host="127.0.0.1",
            port=server.port,
            security="tls",
            sender="a@example.org",
            recipients=["b@example.org"],
            username=SMTP_USER,
            password=_secret(SMTP_PASSWORD),
            ca_file=server.cert_file,
        )
        report = deliver_due(db, {"mail": channel}, BASE_URL, DELIVERY, NOW)
        assert report.delivered == 1, report.errors
        assert server.logins == [(SMTP_USER, True)] and len(server.messages) == 1
    db.dispose()


def test_an_untrusted_smtp_certificate_is_a_permanent_failure(smtp: SmtpServer, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft(channels=("mail",))], NOW)
    channel = EmailChannel("mail", host="127.0.0.1", port=smtp.port, sender="a@example.org", recipients=["b@x.org"])
    report = deliver_due(db, {"mail": channel}, BASE_URL, DELIVERY, NOW)  # system CAs: self-signed is refused
    assert report.failed == 1 and smtp.messages == []
    assert "server certificate: self-signed certificate" in (outbox.list_alerts(db)[0].last_error or "")
    db.dispose()


def test_a_refused_smtp_login_is_a_permanent_failure(smtp: SmtpServer, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft(channels=("mail",))], NOW)
    channel = EmailChannel(
        "mail",
        host="127.0.0.1",
        port=smtp.port,
        sender="a@example.org",
        recipients=["b@example.org"],
        username=SMTP_USER,
        password=_secret("wrong"),
        ca_file=smtp.cert_file,
    )
    report = deliver_due(db, {"mail": channel}, BASE_URL, DELIVERY, NOW)
    assert report.failed == 1 and smtp.messages == []
    (entry,) = outbox.list_alerts(db, "failed")
    assert entry.last_error is not None and entry.last_error.startswith("mail: login refused: 535")
    db.dispose()


def test_a_channel_failing_then_recovering_delivers_exactly_once_with_backoff(
    webhook: WebhookServer, db_url: str
) -> None:
    db = open_database(db_url)
    outbox.record_alerts(db, [_draft()], NOW)
    channels = {"hook": WebhookChannel("hook", "webhook", _secret(webhook.url))}
    webhook.answer(500, times=3)

    # fails at NOW: next try after 30 s, then 60 s, then 120 s (attempts 1, 2, 3)
    expected = [(NOW, 30), (NOW + timedelta(seconds=30), 60), (NOW + timedelta(seconds=90), 120)]
    for now, delay in expected:
        report = deliver_due(db, channels, BASE_URL, DELIVERY, now)
        assert report.retrying == 1
        (entry,) = outbox.list_alerts(db)
        assert entry.next_attempt_at == now + timedelta(seconds=delay)
        assert entry.last_error == "hook: HTTP 500 Internal Server Error: upstream down"
        # not due before its time: nothing is sent
        assert deliver_due(db, channels, BASE_URL, DELIVERY, now + timedelta(seconds=delay - 1)).retrying == 0
    assert webhook.hits == 3 and webhook.received == []

    recovered = NOW + timedelta(seconds=210)
    assert deliver_due(db, channels, BASE_URL, DELIVERY, recovered).delivered == 1
    (entry,) = outbox.list_alerts(db)
    assert (entry.status, entry.attempts, entry.delivered_at) == ("delivered", 4, recovered)
    for later in (recovered, recovered + timedelta(days=1)):  # reruns send nothing twice
        assert deliver_due(db, channels, BASE_URL, DELIVERY, later).delivered == 0
    assert len(webhook.received) == 1 and webhook.hits == 4
    db.dispose()


def test_a_channel_down_for_hours_only_delays(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, _drafts(3), NOW)
    port = free_port()  # nothing listens here yet: connection refused
    channels = {"hook": WebhookChannel("hook", "webhook", _secret(f"http://127.0.0.1:{port}/hook"), timeout=2)}
    now, delays = NOW, []
    for _ in range(12):
        report = deliver_due(db, channels, BASE_URL, DELIVERY, now)
        # the first failure puts the channel's other alerts back without trying them
        assert (report.retrying, report.delivered, report.failed) == (3, 0, 0)
        next_times = {e.next_attempt_at for e in outbox.list_alerts(db)}
        assert len(next_times) == 1
        delays.append((next_times.pop() - now).total_seconds())
        now += timedelta(seconds=delays[-1])
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600, 3600]  # capped at an hour
    assert now - NOW > timedelta(hours=6)
    entries = outbox.list_alerts(db)
    assert {e.status for e in entries} == {"pending"}
    assert sorted(e.attempts for e in entries) == [0, 0, 12]
    assert "ConnectError" in (entries[-1].last_error or "")

    with WebhookServer(port) as webhook:  # the channel comes back
        assert deliver_due(db, channels, BASE_URL, DELIVERY, now).delivered == 3
        assert deliver_due(db, channels, BASE_URL, DELIVERY, now + timedelta(hours=2)).delivered == 0
        assert sorted(b["key"] for b in webhook.bodies()) == sorted(d.key for d in _drafts(3))
    db.dispose()


def test_a_4xx_is_marked_failed_with_the_reason_and_not_retried(webhook: WebhookServer, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft()], NOW)
    channels = {"hook": WebhookChannel("hook", "slack", _secret(webhook.url))}
    webhook.answer(403)
    report = deliver_due(db, channels, BASE_URL, DELIVERY, NOW)
    assert report.failed == 1 and report.errors == [
        f"alert {outbox.list_alerts(db)[0].id} via hook: hook: HTTP 403 Forbidden: invalid_token"
    ]
    (entry,) = outbox.list_alerts(db, "failed")
    assert entry.last_error == "hook: HTTP 403 Forbidden: invalid_token"
    assert deliver_due(db, channels, BASE_URL, DELIVERY, NOW + timedelta(days=1)).failed == 0
    assert webhook.hits == 1

    outbox.retry_failed(db, entry.id, NOW + timedelta(days=1))  # fixed the token: send it again
    assert deliver_due(db, channels, BASE_URL, DELIVERY, NOW + timedelta(days=1)).delivered == 1
    assert len(webhook.received) == 1
    db.dispose()


def test_429_waits_as_long_as_the_server_asks(webhook: WebhookServer, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft()], NOW)
    webhook.answer(429, headers={"Retry-After": "600"})
    channels = {"hook": WebhookChannel("hook", "webhook", _secret(webhook.url))}
    assert deliver_due(db, channels, BASE_URL, DELIVERY, NOW).retrying == 1
    assert outbox.list_alerts(db)[0].next_attempt_at == NOW + timedelta(seconds=600)
    db.dispose()


@pytest.mark.parametrize(
    "asked",
    ["Thu, 01 Jan 2026 12:10:00 GMT", "Thursday, 01-Jan-26 12:10:00 GMT", "Thu Jan  1 12:10:00 2026"],
)
def test_a_retry_after_http_date_waits_until_that_time(webhook: WebhookServer, sqlite_url: str, asked: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft()], NOW)
    webhook.answer(503, headers={"Retry-After": asked})  # NOW is 12:00:00 that day
    channels = {"hook": WebhookChannel("hook", "webhook", _secret(webhook.url))}
    assert deliver_due(db, channels, BASE_URL, DELIVERY, NOW).retrying == 1
    assert outbox.list_alerts(db)[0].next_attempt_at == NOW + timedelta(minutes=10)
    db.dispose()


def test_a_retry_after_date_in_the_past_retries_after_the_usual_backoff(
    webhook: WebhookServer, sqlite_url: str
) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft()], NOW)
    webhook.answer(429, headers={"Retry-After": "Wed, 31 Dec 2025 12:00:00 GMT"})
    channels = {"hook": WebhookChannel("hook", "webhook", _secret(webhook.url))}
    assert deliver_due(db, channels, BASE_URL, DELIVERY, NOW).retrying == 1
    assert outbox.list_alerts(db)[0].next_attempt_at == NOW + timedelta(seconds=DELIVERY.first_retry_seconds)
    db.dispose()


def test_a_crash_between_commit_and_delivery_delivers_on_the_next_run(webhook: WebhookServer, db_url: str) -> None:
    db = open_database(db_url)
    settings = _settings([{"name": "hook", "kind": "webhook", "url_env": "HOOK"}])
    written = _seed(db, settings)  # queue rows and alerts committed ... then the process died
    db.dispose()

    restarted = open_database(db_url)
    report = _deliver(restarted, settings, {"HOOK": webhook.url}, NOW + timedelta(minutes=5))
    assert report.delivered == written == 2
    assert _deliver(restarted, settings, {"HOOK": webhook.url}, NOW + timedelta(hours=1)).delivered == 0
    assert sorted(b["kind"] for b in webhook.bodies()) == ["pile_on", "severe"]
    restarted.dispose()


def test_a_crash_mid_send_is_taken_over_once_the_claim_times_out(webhook: WebhookServer, sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft()], NOW)
    channels = {"hook": WebhookChannel("hook", "webhook", _secret(webhook.url))}
    outbox.claim_due(db, NOW, token="died", limit=10, stale_before=NOW)  # claimed, then killed before sending
    assert deliver_due(db, channels, BASE_URL, DELIVERY, NOW + timedelta(minutes=5)).delivered == 0
    assert deliver_due(db, channels, BASE_URL, DELIVERY, NOW + timedelta(minutes=11)).delivered == 1
    assert len(webhook.received) == 1
    db.dispose()


def test_two_deliverers_at_once_send_each_alert_once(webhook: WebhookServer, db_url: str) -> None:
    db = open_database(db_url)
    outbox.record_alerts(db, _drafts(20), NOW)
    channels = {"hook": WebhookChannel("hook", "webhook", _secret(webhook.url))}
    settings = DeliverySettings(batch_size=3)
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        for _ in range(10):
            deliver_due(db, channels, BASE_URL, settings, NOW)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    keys = [body["key"] for body in webhook.bodies()]
    assert len(keys) == len(set(keys)) == 20
    db.dispose()


def test_an_unset_secret_keeps_the_alert_pending_with_a_clear_error(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft()], NOW)
    settings = _settings([{"name": "hook", "kind": "slack", "url_env": "MODERATION_SLACK_WEBHOOK"}])
    assert _deliver(db, settings, {}).retrying == 1
    (entry,) = outbox.list_alerts(db, "pending")
    assert entry.last_error == "environment variable MODERATION_SLACK_WEBHOOK (webhook URL of hook) is not set"
    db.dispose()


def test_an_alert_for_a_channel_no_longer_configured_is_failed_not_dropped(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, [_draft(channels=("gone",))], NOW)
    report = deliver_due(db, {}, BASE_URL, DELIVERY, NOW)
    assert report.failed == 1
    assert outbox.list_alerts(db, "failed")[0].last_error == "channel 'gone' is not configured in [[alerts.channels]]"
    db.dispose()


def test_the_webhook_url_is_never_logged_or_stored(
    webhook: WebhookServer, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = open_database(sqlite_url)
    outbox.record_alerts(db, _drafts(2), NOW)
    settings = _settings([{"name": "hook", "kind": "slack", "url_env": "HOOK"}])
    channels = build_channels(settings, {"HOOK": webhook.url})
    webhook.answer(500)
    with caplog.at_level(logging.DEBUG):
        report = deliver_due(db, channels, BASE_URL, DELIVERY, NOW)
        report2 = deliver_due(db, channels, BASE_URL, DELIVERY, NOW + timedelta(hours=1))
    assert (report.retrying, report2.delivered) == (2, 2)
    assert "HTTP Request: POST" in caplog.text  # httpx did log the request ...
    stored = " ".join(f"{e.last_error} {e.to_json()}" for e in outbox.list_alerts(db))
    for text in (caplog.text, stored, repr(channels), " ".join(report.errors)):
        assert "s3cr3t" not in text  # ... without the secret part of the URL
    db.dispose()


def _draft(channels: tuple[str, ...] = ("hook",), n: int = 0):  # type: ignore[no-untyped-def]
    from moderation.models import AlertDraft

    payload = {
        "post_title": "A post",
        "window_minutes": 60,
        "count": 1,
        "thresholds": {"threat": 0.5},
        "comments": [
            {
                "item_id": 7 + n,
                "comment_id": f"c{n}",
                "author": "ann",
                "excerpt": "I will find you",
                "reasons": {"threat": 0.9},
            }
        ],
    }
    return AlertDraft("severe", f"severe:s/p{n}:2026-01-01T12:00Z", NOW, channels, payload, "s", f"p{n}")


def _drafts(n: int):  # type: ignore[no-untyped-def]
    return [_draft(n=i) for i in range(n)]


def _secret(value: str):  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    return SecretStr(value)
