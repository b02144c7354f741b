"""`moderation tune thresholds` on decisions made through the review verbs, checked by hand (the arithmetic
is in tests/unit/test_tuning.py)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.cli import cli
from moderation.review import decide
from moderation.review.tuning import decided_scores
from moderation.storage.engine import database
from tests.conftest import write_config
from tests.integration.stats_seed import ALICE, RULES, add_comment, at

INSULT = [
    (0.52, False),
    (0.55, False),
    (0.61, True),
    (0.64, False),
    (0.70, True),
    (0.75, True),
    (0.81, True),
    (0.90, True),
]
THREAT = [(0.3, True), (0.5, True), (0.8, True)]


def _seed(db_url: str) -> None:
    db = database(db_url)
    for label, decided in (("insult", INSULT), ("threat", THREAT)):
        for n, (score, rejected) in enumerate(decided):
            item = add_comment(db, f"{label}-{n}", at(5, 9), {label: score})
            assert item is not None
            status, code = ("rejected", "insult") if rejected else ("approved", None)
            decide(
                db, item, status, moderator=ALICE, expected_version=None, now=at(5, 10), rules=RULES, reason_code=code
            )
    add_comment(db, "open", at(5, 9), {"insult": 0.4})  # never decided: not counted


def test_decided_scores_are_read_per_label(db_url: str) -> None:
    _seed(db_url)
    found = decided_scores(database(db_url))
    assert sorted(found["insult"]) == INSULT
    assert sorted(found["threat"]) == THREAT


def test_tune_thresholds_proposes_per_label_and_refuses_too_few(db_url: str, tmp_path: Path) -> None:
    _seed(db_url)
    config = write_config(tmp_path / "m.toml", db_url)
    args = ["tune", "thresholds", "--config", str(config), "--precision", "0.9", "--min-decisions", "4"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    by_label = {p["label"]: p for p in json.loads(result.output)}
    assert (by_label["insult"]["threshold"], by_label["insult"]["kept"], by_label["insult"]["kept_rejected"]) == (
        0.65,
        4,
        4,
    )
    assert by_label["insult"]["interval"] == [pytest.approx(0.5101, abs=1e-4), 1.0]  # Wilson, 4 of 4
    assert by_label["threat"]["threshold"] is None
    assert by_label["threat"]["refused"] == "3 decisions, fewer than the 4 needed"
    text = CliRunner().invoke(cli, args).output
    assert "insult: 0.65 (now 0.54): 4/4 rejected at or above it, precision 1.000 (95% 0.510-1.000)" in text
    assert "threat: refused (now 0.14): 3 decisions, fewer than the 4 needed" in text


def test_write_config_sets_the_proposed_thresholds_only(sqlite_url: str, tmp_path: Path) -> None:
    _seed(sqlite_url)
    config = write_config(
        tmp_path / "m.toml", sqlite_url, extra="[policy.thresholds]\n# chosen by hand\nthreat = 0.2\n"
    )
    args = ["tune", "thresholds", "--config", str(config), "--min-decisions", "4", "--write-config"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = config.read_text(encoding="utf-8")
    assert "# chosen by hand" in text
    assert tomllib.loads(text)["policy"]["thresholds"] == {"threat": 0.2, "insult": 0.65}
