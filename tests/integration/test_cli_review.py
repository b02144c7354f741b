"""`moderation user ...`, `moderation queue show/approve/reject/escalate/undo`, `moderation export-labels`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from moderation.cli import cli
from moderation.config import ReviewSettings
from moderation.review import Moderator, claim
from moderation.review.accounts import authenticate
from moderation.storage.engine import database
from moderation.storage.tables import UserRow
from tests.conftest import write_config

PASSWORD = "correct horse battery"


@pytest.fixture
def config(seeded_sqlite_url: str, tmp_path: Path) -> Path:
    """A config for the seeded database, which has the moderator alice."""
    path = write_config(tmp_path / "c.toml", seeded_sqlite_url)
    assert _run("user", "add", "alice", "--password-stdin", config=path, input=PASSWORD + "\n").exit_code == 0
    return path


def _run(*args: str, config: Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--config", str(config)], input=input)


def _ids(config: Path) -> dict[str, int]:
    listed = json.loads(_run("queue", "list", "--format", "json", config=config).output)
    return {item["comment_id"]: item["id"] for item in listed}


def test_user_add_keeps_only_an_argon2_hash_of_the_password(config: Path, seeded_sqlite_url: str) -> None:
    with database(seeded_sqlite_url).session() as session:
        row = session.query(UserRow).filter_by(name="alice").one()
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
        assert row.role == "moderator"
    assert authenticate(database(seeded_sqlite_url), "alice", PASSWORD) == Moderator("alice", "moderator")


def test_user_add_asks_for_the_password_twice(config: Path) -> None:
    result = _run("user", "add", "root", "--role", "admin", config=config, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "added admin root" in result.output
    assert "root  admin" in _run("user", "list", config=config).output


def test_user_add_refuses_a_name_that_exists(config: Path) -> None:
    result = _run("user", "add", "alice", "--password-stdin", config=config, input=PASSWORD + "\n")
    assert (result.exit_code, result.output) == (1, "Error: user 'alice' already exists\n")


def test_user_add_refuses_a_short_password(config: Path) -> None:
    result = _run("user", "add", "bob", "--password-stdin", config=config, input="short\n")
    assert result.output == "Error: the password is too short: use at least 10 characters\n"


def test_queue_reject_records_the_decision_as_the_named_moderator(config: Path) -> None:
    item_id = _ids(config)["c6"]
    result = _run(
        "queue",
        "reject",
        str(item_id),
        "--as",
        "alice",
        "--reason",
        "personal_attack",
        "--format",
        "json",
        config=config,
    )
    assert result.exit_code == 0, result.output
    [decided] = json.loads(result.output)["decided"]
    assert (decided["item_id"], decided["status"], decided["actor"], decided["reason_code"]) == (
        item_id,
        "rejected",
        "alice",
        "personal_attack",
    )
    assert "c6" not in _ids(config)


def test_queue_reject_without_a_reason_says_which_reasons_exist(config: Path) -> None:
    result = _run("queue", "reject", str(_ids(config)["c6"]), "--as", "alice", config=config)
    assert result.exit_code == 1
    assert result.output.startswith("Error: a rejection needs a reason: one of personal_attack, insult, hate_speech,")


def test_queue_decisions_need_an_existing_account(config: Path) -> None:
    result = _run("queue", "approve", str(_ids(config)["c6"]), "--as", "mallory", config=config)
    assert result.output == "Error: no user 'mallory': create one with `moderation user add mallory`\n"


def test_queue_approve_at_an_old_version_is_refused(config: Path) -> None:
    item_id = _ids(config)["c6"]
    _run("queue", "escalate", str(item_id), "--as", "alice", config=config)
    result = _run("queue", "approve", f"{item_id}:1", "--as", "alice", config=config)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: item #{item_id} changed since you opened it: it is now escalated by alice. "
        "Nothing was saved; reload it and decide again\n"
    )


def test_queue_approve_of_several_items_reports_each_one_left_alone(config: Path, seeded_sqlite_url: str) -> None:
    ids = _ids(config)
    claim(database(seeded_sqlite_url), ids["c10"], Moderator("bob"), datetime.now(UTC), ReviewSettings())
    result = CliRunner().invoke(
        cli, ["queue", "approve", str(ids["c6"]), str(ids["c10"]), "--as", "alice", "--config", str(config)]
    )
    assert result.exit_code == 1
    assert f"approved #{ids['c6']} (c6), now version 2" in result.stdout
    assert f"not decided #{ids['c10']}: item #{ids['c10']} is being reviewed by bob" in result.stderr
    assert "Error: 1 of 2 items were not decided" in result.stderr


def test_queue_show_marks_the_evidence_the_target_and_the_thread(config: Path) -> None:
    result = _run("queue", "show", str(_ids(config)["c6"]), config=config)
    assert result.exit_code == 0, result.output
    assert "attack on Slaven" in result.output
    assert "[[Slaven]], you’re an [[idiot]]!" in result.output
    assert "c7 Douglas -> Lee Lindberg" in result.output


def test_queue_show_json_has_item_thread_history_and_audit(config: Path) -> None:
    data = json.loads(_run("queue", "show", str(_ids(config)["c10"]), "--format", "json", config=config).output)
    assert data["item"]["comment_id"] == "c10"
    assert [c["comment_id"] for c in data["history"]["recent"]] == ["c5"]
    assert [a["actor"] for a in data["audit"]] == ["system"]
    assert data["thread"]["comment"]["author"] == "Slaven"


def test_queue_undo_reverts_the_last_decision(config: Path) -> None:
    item_id = _ids(config)["c6"]
    _run("queue", "approve", str(item_id), "--as", "alice", config=config)
    result = _run("queue", "undo", "--as", "alice", config=config)
    assert result.output == f"undid approved on #{item_id} (c6): pending again\n"
    assert "c6" in _ids(config)


def test_queue_list_filters_by_author(config: Path) -> None:
    result = _run("queue", "list", "--author", "Slaven", "--format", "json", config=config)
    assert [item["comment_id"] for item in json.loads(result.output)] == ["c10"]


def test_export_labels_writes_one_json_line_per_decision(config: Path, tmp_path: Path) -> None:
    ids = _ids(config)
    _run("queue", "reject", str(ids["c6"]), "--as", "alice", "--reason", "personal_attack", config=config)
    _run("queue", "approve", str(ids["c10"]), "--as", "alice", "--note", "robust, not abusive", config=config)
    out = tmp_path / "labels.jsonl"
    result = _run("export-labels", "--output", str(out), config=config)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["comment_id"], r["decision"], r["violation"]) for r in records] == [
        ("c6", "rejected", True),
        ("c10", "approved", False),
    ]
    assert records[1]["note"] == "robust, not abusive" and records[1]["moderator"] == "alice"
