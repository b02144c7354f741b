import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from moderation.cli import cli
from tests.conftest import write_config


@pytest.mark.usefixtures("prefect_harness")
def test_run_prints_counts_and_the_flagged_attack(seed_project: Path, sqlite_url: str) -> None:
    config = write_config(seed_project / "c.toml", sqlite_url)
    result = CliRunner().invoke(cli, ["run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "source examples: 11 new, 0 edited, 0 unchanged, 0 rejected" in result.output
    assert "[c6] Lee Lindberg:" in result.output and "attack on Slaven" in result.output


@pytest.mark.usefixtures("prefect_harness")
def test_a_source_that_is_down_fails_alone_and_the_run_says_so(seed_project: Path, sqlite_url: str) -> None:
    sources = """
[[sources]]
name = "blog"
kind = "wordpress"
url = "http://127.0.0.1:1"
timeout_seconds = 2

[[sources]]
name = "examples"
kind = "jsonl"
path = "examples/seed_thread.jsonl"
"""
    retry_once = '[runner]\nretries = 1\nretry_delay_seconds = [0]\n[scoring]\nscorer = "lexicon"\n'
    config = write_config(seed_project / "c.toml", sqlite_url, retry_once, sources=sources)
    result = CliRunner().invoke(cli, ["run", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "source examples: 11 new, 0 edited, 0 unchanged, 0 rejected" in result.output
    assert "scored 11 comments, flagged 2 for review" in result.output
    assert "Error: source blog: GET http://127.0.0.1:1/wp-json/wp/v2/comments failed" in result.output
    assert result.output.rstrip().endswith("the other sources were processed")


@pytest.mark.usefixtures("prefect_harness")
def test_queue_list_json_is_most_severe_first(seed_project: Path, sqlite_url: str) -> None:
    config = write_config(seed_project / "c.toml", sqlite_url)
    CliRunner().invoke(cli, ["run", "--config", str(config)], catch_exceptions=False)
    result = CliRunner().invoke(cli, ["queue", "list", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert items[0]["comment_id"] == "c6" and items[0]["attack_target"] == "Slaven"
    assert [i["priority"] for i in items] == sorted((i["priority"] for i in items), reverse=True)
    assert all(i["status"] == "pending" for i in items)


def test_queue_list_on_an_empty_database_says_so(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "c.toml", sqlite_url)
    result = CliRunner().invoke(cli, ["queue", "list", "--config", str(config)])
    assert (result.exit_code, result.output) == (0, "no pending items\n")


def test_unknown_queue_status_is_a_clear_error(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path / "c.toml", sqlite_url)
    result = CliRunner().invoke(cli, ["queue", "list", "--config", str(config), "--status", "done"])
    assert result.exit_code == 1
    assert "Error: unknown status 'done': use one of pending, approved, rejected, escalated" in result.output


def test_score_writes_one_json_object_per_comment(seed_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    result = CliRunner().invoke(
        cli, ["score", "--input", "examples/seed_thread.jsonl", "--output", str(out), "--scorer", "lexicon"]
    )
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert len(records) == 11
    c6 = records["c6"]
    assert set(c6) >= {
        "id",
        "scores",
        "flagged",
        "reasons",
        "attack_on_commenter",
        "attack_target",
        "evidence",
        "scorer",
    }
    assert (c6["flagged"], c6["attack_target"]) == (True, "Slaven")
    assert "attack_on_commenter" in c6["reasons"]
    text = (seed_project / "examples" / "seed_thread.jsonl").read_text().splitlines()[5]
    start, end = c6["evidence"]["insult"][0]
    assert json.loads(text)["text"][start:end] == "idiot"
    assert records["c7"]["flagged"] is False
    assert c6["scorer"].startswith("lexicon/")


def test_score_skips_bad_lines_reports_them_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "1", "author": "a", "text": "hello"}\n{oops\n')
    result = CliRunner().invoke(cli, ["score", "--input", str(path), "--scorer", "lexicon"])
    assert result.exit_code == 1
    assert f"skipped {path}:2: invalid JSON" in result.output
    assert json.loads(result.stdout.splitlines()[0])["id"] == "1"


def test_bad_config_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[policy.thresholds]\ninsult = 2\n")
    result = CliRunner().invoke(cli, ["queue", "list", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {config}: policy.thresholds.insult:")


def test_every_command_has_help() -> None:
    missing = []
    for name, command in _commands(cli):
        if not (command.help or "").strip():
            missing.append(name)
    assert missing == []


def _commands(group, prefix=""):  # type: ignore[no-untyped-def]
    # Through list_commands/get_command: the top-level group imports its commands on first use.
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield f"{prefix}{name}", command
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix}{name} ")
