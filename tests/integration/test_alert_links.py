"""Every link an alert carries opens a page of the review UI: alerts build links from the app's own routes."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from moderation.alerts.messages import alert_from_entry, json_body
from moderation.alerts.triggers import backlog_alert, queue_alert_rule
from moderation.config import AlertsSettings, Settings
from moderation.storage import outbox
from moderation.storage.engine import database
from moderation.storage.tables import QueueItemRow
from tests.conftest import SEED_TIME

BASE_URL = "https://mod.example.org"


def _alerts_on_the_seeded_queue(settings: Settings) -> AlertsSettings:
    """Severe, pile-on and backlog alerts written to the outbox by the real rules, for the queued c6 and c10."""
    alerts = AlertsSettings.model_validate(
        {
            "base_url": BASE_URL,
            "channels": [{"name": "hook", "kind": "webhook", "url_env": "HOOK_URL"}],
            "pile_on": {"flagged": 2, "attacks": 0, "window_minutes": 2 * 24 * 60},
            "backlog": {"max_pending": 1},
        }
    )
    db = database(settings.database.url)
    rule = queue_alert_rule(alerts)
    assert rule is not None
    with db.session() as session:
        item_ids = list(session.scalars(select(QueueItemRow.id)))
        outbox.add_alerts_for_items(session, item_ids, rule, SEED_TIME)
    backlog = backlog_alert(*outbox.pending_backlog(db), alerts, SEED_TIME + timedelta(minutes=5))
    assert backlog is not None
    outbox.record_alerts(db, [backlog], SEED_TIME)
    return alerts


def test_every_link_in_every_alert_opens_a_page_after_login(alice: TestClient, web_settings: Settings) -> None:
    alerts = _alerts_on_the_seeded_queue(web_settings)
    entries = outbox.list_alerts(database(web_settings.database.url))
    assert {e.kind for e in entries} == {"severe", "pile_on", "backlog"}
    links = set()
    for entry in entries:
        body = json_body(alert_from_entry(entry, alerts.base_url))
        links |= {body["link"], *(c["link"] for c in body["comments"])}
    assert len(links) >= 3  # the queue, and an item page each for c6 and c10
    for url in sorted(links):
        assert url.startswith(BASE_URL + "/"), url
        response = alice.get(url.removeprefix(BASE_URL))
        assert response.status_code == 200, (url, response.status_code)
