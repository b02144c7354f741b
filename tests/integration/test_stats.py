"""The stats page's numbers, on a seeded history worked out by hand (tests/integration/stats_seed.py), on
SQLite and PostgreSQL; the same numbers from `moderation stats` and on the page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import SecretStr

from moderation.cli import cli
from moderation.config import DatabaseSettings, Settings, WebSettings
from moderation.review.accounts import add_user
from moderation.review.stats import BadPeriod, LabelPrecision, ModeratorCounts, Period, gather_stats, period_of
from moderation.storage.engine import database
from moderation.web import create_app
from tests.conftest import write_config
from tests.integration.conftest import PASSWORD, login
from tests.integration.stats_seed import FIRST_DAY, LAST_DAY, at, seed_history

PERIOD = Period(FIRST_DAY, LAST_DAY)


@pytest.fixture
def history_url(db_url: str) -> str:
    seed_history(database(db_url))
    return db_url


def test_counts_of_the_period_leave_out_the_days_around_it(history_url: str) -> None:
    found = gather_stats(database(history_url), PERIOD, ["insult", "threat", "toxicity", "obscene"])
    assert found.scored == 5  # B, C, D, clean, E (A the day before, F the day after)
    assert found.flagged == 4
    assert found.flagged_by_label == {"insult": 2, "obscene": 0, "threat": 1, "toxicity": 2}
    assert [(d.day.day, d.value) for d in found.flagged_per_day] == [(5, 3), (6, 1), (7, 0)]


def test_decisions_are_split_by_status_and_an_undone_one_stays_counted(history_url: str) -> None:
    found = gather_stats(database(history_url), PERIOD)
    assert found.decisions == {"approved": 2, "rejected": 3, "escalated": 1}
    assert found.undone == 1


def test_time_to_first_decision_median_and_p90(history_url: str) -> None:
    found = gather_stats(database(history_url), PERIOD)
    # first decisions: B 30 min, E 1 h (the undone approval), D 2 h, C 22 h (its escalation)
    assert found.decided_items == 4
    assert found.decision_seconds_median == (3600 + 7200) / 2
    assert found.decision_seconds_p90 == 22 * 3600


def test_backlog_counts_open_items_at_each_day_end(history_url: str) -> None:
    found = gather_stats(database(history_url), PERIOD)
    # start: A; 5th: +B C D, -B -D; 6th: +E, C escalated (still open) then rejected, E approved then undone;
    # 7th: E rejected
    assert [n for _, n in found.backlog_points()] == [1, 2, 2, 1]
    assert found.backlog_points()[-1][0] == at(8, 0)


def test_precision_per_label_is_rejected_among_decided_flags(history_url: str) -> None:
    found = gather_stats(database(history_url), PERIOD)
    assert found.precision == [
        LabelPrecision("insult", decided=2, rejected=1),  # B rejected, D approved
        LabelPrecision("threat", decided=1, rejected=1),  # C rejected by root after the escalation
        LabelPrecision("toxicity", decided=2, rejected=2),  # B, and E rejected after the undo
    ]
    assert found.precision[0].precision == 0.5


def test_per_moderator_counts(history_url: str) -> None:
    found = gather_stats(database(history_url), PERIOD)
    assert found.moderators == [
        ModeratorCounts("alice", approved=1, rejected=1, escalated=1),
        ModeratorCounts("bob", approved=1, rejected=1, undone=1),
        ModeratorCounts("root", rejected=1),
    ]


def test_a_period_of_one_day_counts_that_day_only(history_url: str) -> None:
    found = gather_stats(database(history_url), Period(LAST_DAY, LAST_DAY))
    assert (found.scored, found.flagged, found.decisions["rejected"], found.undone) == (0, 0, 1, 0)
    assert [n for _, n in found.backlog_points()] == [2, 1]


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(BadPeriod, match="--since must not be after --until"):
        period_of(LAST_DAY, FIRST_DAY, at(9, 0))


def test_a_period_longer_than_a_year_is_refused_and_the_default_is_30_days() -> None:
    with pytest.raises(BadPeriod, match="at most 366 days"):
        period_of(FIRST_DAY.replace(year=2024), LAST_DAY, at(9, 0))
    default = period_of(None, None, at(9, 23))
    assert (default.first.isoformat(), default.last.isoformat()) == ("2025-12-11", "2026-01-09")


def test_stats_command_prints_the_same_numbers_as_json(history_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "m.toml", history_url)
    args = ["stats", "--config", str(config), "--since", "2026-01-05", "--until", "2026-01-07", "--format", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decisions"] == {"approved": 2, "rejected": 3, "escalated": 1}
    assert [p["open"] for p in data["backlog"]] == [1, 2, 2, 1]
    assert data["decision_seconds_p90"] == 79200


def test_stats_command_in_text(history_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "m.toml", history_url)
    args = ["stats", "--config", str(config), "--since", "2026-01-05", "--until", "2026-01-07"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "decisions: 6 (approved 2, rejected 3, escalated 1; 1 undone since)" in result.output
    assert "median 90.0 min, p90 22.0 h" in result.output
    assert "  insult: 1/2 50.0%" in result.output


def test_stats_command_refuses_a_reversed_period(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "m.toml", sqlite_url)
    result = CliRunner().invoke(
        cli, ["stats", "--config", str(config), "--since", "2026-01-07", "--until", "2026-01-05"]
    )
    assert result.exit_code == 1
    assert "Error: the period starts (2026-01-07) after it ends (2026-01-05)" in result.output


@pytest.fixture
def history_client(sqlite_url: str) -> Iterator[TestClient]:
    """The review UI over the seeded history alone, alice logged in."""
    db = database(sqlite_url)
    seed_history(db)
    add_user(db, "alice", PASSWORD, "moderator", at(4, 0))
    settings = Settings(database=DatabaseSettings(url=sqlite_url), web=WebSettings(secret_key=SecretStr("test")))
    with TestClient(create_app(settings, clock=lambda: at(9, 12)), follow_redirects=False) as client:
        assert login(client, "alice").status_code == 303
        yield client


def test_stats_page_shows_the_numbers_and_svg_charts_without_inline_style(history_client: TestClient) -> None:
    page = history_client.get("/stats?since=2026-01-05&until=2026-01-07")
    assert page.status_code == 200
    html = page.text
    assert '<dd id="decisions">6</dd>' in html
    assert '<dd id="median">90 min</dd>' in html and '<dd id="p90">22.0 h</dd>' in html
    assert '<tr data-label="insult"><td>Insult</td><td>2</td><td>2</td><td>1</td><td>50.0%</td></tr>' in html
    assert html.count("<svg") == 4
    assert re.findall(r'<rect class="bar" [^>]*data-value="(\d+)"', html)[:3] == ["3", "1", "0"]
    assert "style=" not in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_stats_page_defaults_to_the_last_30_days(history_client: TestClient) -> None:
    html = history_client.get("/stats").text
    assert "2025-12-11 to 2026-01-09" in html
    assert '<dd id="flagged">6</dd>' in html  # A (Jan 4) to F (Jan 8)


def test_stats_page_refuses_a_malformed_day(history_client: TestClient) -> None:
    page = history_client.get("/stats?since=yesterday")
    assert page.status_code == 400
    assert "since must be a day as YYYY-MM-DD" in page.text
