"""`moderation train fast --decisions`: unflagged comments from the database as presumed negatives, and the
shipped model is never the target."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from moderation.cli import cli
from moderation.review.export import sample_unflagged
from moderation.review.queue import list_items
from moderation.storage.engine import database

SEED_COMMENTS = 11


def test_unflagged_sample_holds_scored_comments_never_queued(seeded_url: str) -> None:
    db = database(seeded_url)
    queued = {entry.text for entry in list_items(db, limit=100)}
    everything = sample_unflagged(db, 100)
    assert len(everything) == SEED_COMMENTS - len(queued) == 9
    assert not queued & set(everything)
    sample = sample_unflagged(db, 4)
    assert len(sample) == 4 and set(sample) <= set(everything)
    assert sample_unflagged(db, 4) == sample, "the same database gives the same sample"


def test_decisions_without_out_refuse_to_touch_the_shipped_model(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"decision": "rejected", "text": "x", "flags": {"insult": 0.9}}) + "\n")
    result = CliRunner().invoke(cli, ["train", "fast", "--decisions", str(labels)])
    assert result.exit_code == 2
    assert "--decisions needs --out: the shipped model is trained from the labelled data alone" in result.output


def test_a_missing_decisions_file_names_the_command_that_writes_it(tmp_path: Path) -> None:
    args = ["train", "fast", "--decisions", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "m")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "not found; write it with `moderation export-labels --output" in result.output
