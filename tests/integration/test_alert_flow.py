"""Alerts through the Prefect flows, under a real (temporary) Prefect server and a loopback webhook."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from uuid import UUID

import pytest

from flows.alerts import deliver_alerts
from flows.moderate import moderate
from moderation.errors import ScoringError
from moderation.models import CommentScore
from moderation.scoring.base import register_text_scorer
from moderation.scoring.lexicon import LexiconScorer
from moderation.storage import outbox
from moderation.storage.engine import database
from tests.conftest import write_config
from tests.integration.loopback import WebhookServer
from tests.integration.test_alert_delivery import NOW, _draft

pytestmark = pytest.mark.usefixtures("prefect_harness")

# The lexicon scorer flags c6 and c10 of the seed thread: the alert counts below follow from that.
LEXICON = '\n[scoring]\nscorer = "lexicon"\n'
ALERTS = """
[alerts]
base_url = "https://mod.example.org"
[alerts.pile_on]
flagged = 2
attacks = 0
window_minutes = 2880
[[alerts.channels]]
name = "hook"
kind = "webhook"
url_env = "MODERATION_TEST_WEBHOOK"
"""


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        monkeypatch.setenv("MODERATION_TEST_WEBHOOK", server.url)
        yield server


def test_the_moderate_flow_delivers_its_alerts_once_and_publishes_a_summary(
    seed_project: Path, sqlite_url: str, webhook: WebhookServer
) -> None:
    config = write_config(seed_project / "c.toml", sqlite_url, ALERTS + LEXICON)
    state = moderate(str(config), return_state=True)
    summary = state.result()
    assert (summary.alerts_written, summary.alerts.delivered) == (2, 2)
    assert sorted(body["kind"] for body in webhook.bodies()) == ["pile_on", "severe"]
    assert {e.status for e in outbox.list_alerts(database(sqlite_url))} == {"delivered"}

    artifacts = _artifacts(state.state_details.flow_run_id)
    markdown = artifacts["moderation-run-summary"]
    assert "| flagged for review | 2 |" in markdown and "| alerts sent | 2 |" in markdown
    assert "| attack_on_commenter | 1 |" in markdown
    assert "[stats page](http://127.0.0.1:8000/stats)" in markdown, "web.public_url() without web.base_url"
    table = json.loads(artifacts["moderation-flagged-comments"])
    assert {row["comment"] for row in table} == {"c6", "c10"}

    again = moderate(str(config))
    assert (again.alerts_written, again.alerts.delivered) == (0, 0)
    assert len(webhook.received) == 2


def test_the_flow_emits_an_event_for_each_flagged_post(seed_project: Path, sqlite_url: str) -> None:
    summary = moderate(str(write_config(seed_project / "c.toml", sqlite_url, LEXICON)))
    assert summary.flagged == 2
    events = _wait_for_events("moderation.post.flagged", "moderation.post.examples.post-belenko")
    assert events, "no moderation.post.flagged event reached the Prefect server"
    payload = events[0].payload
    assert (payload["flagged"], payload["attacks"]) == (2, 1)
    assert sorted(payload["comments"]) == ["c10", "c6"]


class CrashingScorer(LexiconScorer):
    """The lexicon scorer (same name and version) that dies on its third batch, however it is split
    (so the batch fails as a whole instead of its comments being isolated one by one)."""

    calls = 0
    dying: frozenset[str] = frozenset()

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        type(self).calls += 1
        if type(self).calls == 3:
            type(self).dying = frozenset(texts)
        if type(self).dying & set(texts):
            raise RuntimeError("killed before delivery")
        return super().score_texts(texts)


def test_alerts_committed_before_a_crash_are_delivered_by_the_next_run(
    seed_project: Path, sqlite_url: str, webhook: WebhookServer
) -> None:
    CrashingScorer.calls, CrashingScorer.dying = 0, frozenset()
    register_text_scorer("crash-before-delivery", lambda settings, variant: CrashingScorer())
    crashing = write_config(
        seed_project / "crash.toml",
        sqlite_url,
        ALERTS + '\n[scoring]\nscorer = "crash-before-delivery"\nbatch_size = 4\n[runner]\nn_workers = 1',
    )
    with pytest.raises(ScoringError, match="killed before delivery"):
        moderate(str(crashing))
    (pending,) = outbox.list_alerts(database(sqlite_url))
    assert (pending.kind, pending.status) == ("severe", "pending")  # c6 was in batch 2, committed
    assert webhook.received == []

    summary = moderate(str(write_config(seed_project / "c.toml", sqlite_url, ALERTS + LEXICON + "batch_size = 4")))
    assert summary.alerts.delivered == 2  # the severe alert from the crashed run, the pile-on from this one
    assert sorted(body["kind"] for body in webhook.bodies()) == ["pile_on", "severe"]


def test_the_deliver_alerts_flow_reads_the_url_from_a_prefect_secret_block(
    tmp_path: Path, sqlite_url: str, webhook: WebhookServer
) -> None:
    from prefect.blocks.system import Secret

    Secret(value=webhook.url).save("moderation-test-webhook", overwrite=True)
    config = write_config(
        tmp_path / "c.toml",
        sqlite_url,
        '[[alerts.channels]]\nname = "hook"\nkind = "slack"\nurl_secret_block = "moderation-test-webhook"\n',
        sources="",
    )
    outbox.record_alerts(database(sqlite_url), [_draft()], NOW)
    report = deliver_alerts(str(config))
    assert (report.delivered, report.errors) == (1, [])
    assert webhook.bodies()[0]["blocks"][0]["text"]["text"] == "Severe comment on “A post”"


def _artifacts(flow_run_id: UUID) -> dict[str, str]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {str(a.key): str(a.data) for a in found}


def _wait_for_events(name: str, resource_id: str, timeout: float = 180.0) -> list:  # type: ignore[type-arg]
    """Events reach the server's store asynchronously: poll it, within a bound."""
    from prefect import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    query = EventFilter(event=EventNameFilter(name=[name]), resource=EventResourceFilter(id=[resource_id]))
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            events = client.read_events(filter=query, limit=50).events
            if events:
                return list(events)
            time.sleep(0.5)
    return []
