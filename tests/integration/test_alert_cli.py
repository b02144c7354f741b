import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.cli import cli
from moderation.storage import outbox
from moderation.storage.engine import database
from tests.conftest import write_config
from tests.integration.loopback import WebhookServer
from tests.integration.test_alert_delivery import NOW, _drafts


def _failed_and_delivered(db_url: str) -> tuple[int, int]:
    """Two alerts in the outbox: the first failed for good (HTTP 404), the second delivered."""
    db = database(db_url)
    outbox.record_alerts(db, _drafts(2), NOW)
    first, second = outbox.claim_due(db, NOW, token="t", limit=2, stale_before=NOW)
    outbox.mark_failed(db, first.id, "t", "hook: HTTP 404 Not Found: no_service")
    outbox.mark_delivered(db, second.id, "t", NOW + timedelta(seconds=1))
    return first.id, second.id


def test_alerts_list_failed_json_shows_the_reason(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "c.toml", sqlite_url, sources="")
    failed_id, _ = _failed_and_delivered(sqlite_url)
    result = CliRunner().invoke(
        cli, ["alerts", "list", "--config", str(config), "--status", "failed", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    (alert,) = json.loads(result.output)
    assert (alert["id"], alert["status"], alert["attempts"]) == (failed_id, "failed", 1)
    assert alert["last_error"] == "hook: HTTP 404 Not Found: no_service"
    assert alert["kind"] == "severe" and alert["channel"] == "hook"


def test_alerts_list_text_is_newest_first_with_errors_under_the_alert(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "c.toml", sqlite_url, sources="")
    failed_id, delivered_id = _failed_and_delivered(sqlite_url)
    result = CliRunner().invoke(cli, ["alerts", "list", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"#{delivered_id} delivered severe via hook: severe:s/p1:2026-01-01T12:00Z "
        "(attempts 1, delivered 2026-01-01 12:00Z)",
        f"#{failed_id} failed severe via hook: severe:s/p0:2026-01-01T12:00Z (attempts 1, since 2026-01-01 12:00Z)",
        "      hook: HTTP 404 Not Found: no_service",
    ]


def test_alerts_list_on_an_empty_outbox_says_so(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "c.toml", sqlite_url, sources="")
    result = CliRunner().invoke(cli, ["alerts", "list", "--config", str(config), "--status", "failed"])
    assert (result.exit_code, result.output) == (0, "no failed alerts\n")


def test_alerts_retry_puts_a_failed_alert_back_in_line(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "c.toml", sqlite_url, sources="")
    failed_id, delivered_id = _failed_and_delivered(sqlite_url)
    result = CliRunner().invoke(cli, ["alerts", "retry", "--config", str(config), str(failed_id)])
    assert (result.exit_code, result.output) == (
        0,
        f"alert {failed_id} (severe via hook) will be sent by the next delivery run\n",
    )
    assert outbox.get_alert(database(sqlite_url), failed_id).status == "pending"

    refused = CliRunner().invoke(cli, ["alerts", "retry", "--config", str(config), str(delivered_id)])
    assert refused.exit_code == 1
    assert f"Error: alert {delivered_id} is delivered; only failed alerts can be retried" in refused.output
    unknown = CliRunner().invoke(cli, ["alerts", "retry", "--config", str(config), "999"])
    assert "Error: no alert 999: `moderation alerts list` shows the ids" in unknown.output


@pytest.mark.usefixtures("prefect_harness")
def test_alerts_deliver_sends_what_is_due(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with WebhookServer() as webhook:
        monkeypatch.setenv("MODERATION_TEST_WEBHOOK", webhook.url)
        channel = '[[alerts.channels]]\nname = "hook"\nkind = "webhook"\nurl_env = "MODERATION_TEST_WEBHOOK"\n'
        config = write_config(tmp_path / "c.toml", sqlite_url, channel, sources="")
        outbox.record_alerts(database(sqlite_url), _drafts(2), NOW)
        result = CliRunner().invoke(cli, ["alerts", "deliver", "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert "alerts: 2 sent, 0 to retry, 0 failed" in result.output
        assert len(webhook.received) == 2


def test_every_alerts_command_has_help_and_a_line_in_the_readme() -> None:
    from moderation.cli.alerts import alerts

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name, command in alerts.commands.items():
        assert command.help, f"moderation alerts {name} has no help"
        assert f"`moderation alerts {name}" in readme, f"moderation alerts {name} is not in the README"


@pytest.mark.usefixtures("prefect_harness")
def test_run_reports_the_alerts_it_sent(seed_project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.test_alert_flow import ALERTS, LEXICON

    with WebhookServer() as webhook:
        monkeypatch.setenv("MODERATION_TEST_WEBHOOK", webhook.url)
        config = write_config(seed_project / "c.toml", sqlite_url, ALERTS + LEXICON)
        result = CliRunner().invoke(cli, ["run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "alerts: 2 written, 2 sent, 0 to retry, 0 failed" in result.output
