"""Isolation at every stage: one record never stops a source, one comment never stalls scoring (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from moderation import pipeline
from moderation.cli import cli
from moderation.config import FileSourceSettings, PolicySettings, ScoringSettings
from moderation.errors import ScoringError
from moderation.models import Comment, CommentScore
from moderation.run_report import summary_markdown
from moderation.scoring.base import load_scorer, register_text_scorer
from moderation.scoring.lexicon import LexiconScorer
from moderation.sources.base import Batch
from moderation.storage import failures, store
from moderation.storage.engine import database
from moderation.storage.tables import CommentRow, RejectedInputRow
from tests.conftest import write_config

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _source(path: Path) -> FileSourceSettings:
    return FileSourceSettings(name="hostile", kind="jsonl", path=str(path), page_size=1000)


def _stored(db_url: str) -> dict[str, CommentRow]:
    with database(db_url).session() as session:
        return {row.external_id: row for row in session.scalars(select(CommentRow))}


def _rejected(db_url: str) -> dict[str, RejectedInputRow]:
    with database(db_url).session() as session:
        return {row.location: row for row in session.scalars(select(RejectedInputRow))}


HOSTILE_LINES = [
    "\ufeff" + json.dumps({"id": "c1", "text": "first line, after a byte-order mark", "author": "ann"}),
    json.dumps({"id": "c2", "text": "nul in names", "author": "evil\u0000name", "post_id": "p\u00001"}),
    json.dumps({"id": "i" * 300, "text": "id too long"}),
    json.dumps({"id": "c4", "text": "author too long", "author": "a" * 256}),
    json.dumps({"id": "c5", "text": "from before time", "created_at": "0001-01-01T00:00:00+14:00"}),
    '{"id": "c6", "text": "broken emoji \\ud83d here", "author": "bob"}',
    json.dumps({"id": "c7", "text": "a valid comment", "parent_id": "c\u00006", "post_title": "T\u0000"}),
]


def test_a_page_of_hostile_records_stores_every_valid_one_and_the_next_run_goes_on(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(HOSTILE_LINES) + "\n", encoding="utf-8")

    report = pipeline.ingest(db_url, _source(path), NOW)

    stored = _stored(db_url)
    assert sorted(stored) == ["c1", "c2", "c6", "c7"]
    assert stored["c2"].author == "evil\ufffdname"
    assert stored["c2"].post_external_id == "p\ufffd1"
    assert stored["c6"].text == "broken emoji \ufffd here"
    assert (report.counts.new, report.counts.rejected) == (4, 3)
    rejected = _rejected(db_url)
    assert sorted(rejected) == [f"{path}:3", f"{path}:4", f"{path}:5"]
    assert rejected[f"{path}:3"].error == "id: longer than 255 characters (300)"
    assert len(rejected[f"{path}:3"].external_id or "") == 255
    assert rejected[f"{path}:5"].error.startswith("created_at: out of range")
    assert f"{path}:2: author: 1 NUL or lone surrogate character(s) replaced with U+FFFD" in report.repaired
    summary = pipeline.RunSummary()
    summary.add_ingest(report)
    assert "| comments in from `hostile` | 4 new, 0 edited, 0 unchanged, 3 rejected, 5 fields repaired |" in (
        summary_markdown(summary)
    )

    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "c8", "text": "written after the bad page"}) + "\n")
    again = pipeline.ingest(db_url, _source(path), LATER)

    assert (again.counts.new, again.counts.rejected) == (1, 0)
    assert "c8" in _stored(db_url)


def _page(comments: list[Comment]) -> Batch:
    page = Batch(source="plugin", comments=comments, watermark={"n": len(comments)})
    page.locations = {c.id: f"plugin item {i + 1}" for i, c in enumerate(comments)}
    return page


def test_records_the_database_refuses_are_rejected_alone_and_the_rest_of_the_page_is_stored(db_url: str) -> None:
    """Records built without the source boundary (a plugin source): the page is stored in halves."""
    db = database(db_url)
    good = [Comment(id=f"g{i}", text=f"fine {i}", author="ann") for i in range(9)]
    too_early = Comment(
        id="bad-date", text="x", author="a", created_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    )
    surrogate = Comment(id="bad-text", text="broken \ud83d", author="a")
    comments = [*good[:3], too_early, *good[3:7], surrogate, *good[7:]]

    counts = store.save_batch(db, _page(comments), NOW)

    assert (counts.new, counts.rejected) == (9, 2)
    assert sorted(_stored(db_url)) == sorted(c.id for c in good)
    rejected = _rejected(db_url)
    assert sorted(rejected) == ["plugin item 4", "plugin item 9"]
    assert rejected["plugin item 4"].external_id == "bad-date"
    assert rejected["plugin item 4"].error.startswith("could not be stored: ")
    assert "[parameters" not in rejected["plugin item 9"].error

    again = store.save_batch(db, _page(comments), LATER)  # the next run reads the same page: no failure
    assert (again.new, again.unchanged, again.rejected) == (0, 9, 2)


class ExplodingScorer(LexiconScorer):
    """The lexicon scorer, except that any batch holding a text with "BOOM" raises (as a model might)."""

    calls = 0

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        type(self).calls += 1
        if any("BOOM" in text for text in texts):
            raise RuntimeError("tensor shape mismatch")
        return super().score_texts(texts)


register_text_scorer("explodes-on-boom", lambda settings, variant: ExplodingScorer())
EXPLODING = ScoringSettings(scorer="explodes-on-boom", batch_size=100)


def _thread_with_one_bomb(path: Path) -> Path:
    lines = [{"id": f"c{i}", "text": f"comment number {i}", "author": f"u{i}"} for i in range(1, 9)]
    lines[4]["text"] = "BOOM goes the featuriser"
    lines[6]["text"] = "you idiot"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _score_everything(db_url: str) -> list[pipeline.BatchOutcome]:
    return [
        pipeline.score_batch(db_url, rows, EXPLODING, PolicySettings(), NOW)
        for rows in pipeline.plan_batches(db_url, EXPLODING)
    ]


def test_a_comment_that_makes_the_scorer_raise_is_recorded_and_the_rest_are_scored(db_url: str, tmp_path: Path) -> None:
    path = _thread_with_one_bomb(tmp_path / "c.jsonl")
    pipeline.ingest(db_url, _source(path), NOW)

    (outcome,) = _score_everything(db_url)

    assert (outcome.scored, outcome.flagged, outcome.failed) == (7, 1, 1)
    assert outcome.failed_items == [{"id": "c5", "source": "hostile", "error": "RuntimeError: tensor shape mismatch"}]
    (failure,) = failures.listed(database(db_url))
    assert (failure.source, failure.comment_id, failure.error) == (
        "hostile",
        "c5",
        "RuntimeError: tensor shape mismatch",
    )
    assert failure.scorer_version == load_scorer(EXPLODING.scorer, EXPLODING).version
    summary = pipeline.RunSummary()
    summary.add_batches([outcome])
    assert (summary.scored, summary.scoring_failed) == (7, 1)
    assert "| scoring failed (moderation failures list) | 1 |" in summary_markdown(summary)


def test_a_failed_comment_is_skipped_by_later_runs_until_retried_or_edited(db_url: str, tmp_path: Path) -> None:
    path = _thread_with_one_bomb(tmp_path / "c.jsonl")
    pipeline.ingest(db_url, _source(path), NOW)
    _score_everything(db_url)
    ExplodingScorer.calls = 0

    assert _score_everything(db_url) == [] and ExplodingScorer.calls == 0  # not tried again on every run

    assert failures.forget(database(db_url)) == 1
    (retried,) = _score_everything(db_url)
    assert (retried.scored, retried.failed) == (0, 1)

    with path.open("a", encoding="utf-8") as handle:  # the source sends the edited comment again
        handle.write(json.dumps({"id": "c5", "text": "edited: no longer a bomb", "author": "u5"}) + "\n")
    pipeline.ingest(db_url, _source(path), LATER)
    (edited,) = _score_everything(db_url)
    assert (edited.scored, edited.failed) == (1, 0)


def test_a_scorer_that_fails_on_every_comment_fails_the_batch_and_records_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"id": f"c{i}", "text": f"BOOM {i}"}) + "\n" for i in range(4)))
    pipeline.ingest(sqlite_url, _source(path), NOW)

    with pytest.raises(ScoringError, match="failed on every comment of a batch of 4: RuntimeError: tensor shape"):
        _score_everything(sqlite_url)
    assert failures.listed(database(sqlite_url)) == []
    assert len(pipeline.plan_batches(sqlite_url, EXPLODING)) == 1  # the next run tries them all again


def test_failures_list_shows_each_failure_and_retry_all_forgets_them(sqlite_url: str, tmp_path: Path) -> None:
    path = _thread_with_one_bomb(tmp_path / "c.jsonl")
    pipeline.ingest(sqlite_url, _source(path), NOW)
    _score_everything(sqlite_url)
    config = str(write_config(tmp_path / "c.toml", sqlite_url, sources=""))
    runner = CliRunner()

    listed = runner.invoke(cli, ["failures", "list", "--config", config, "--format", "json"])
    text = runner.invoke(cli, ["failures", "list", "--config", config])
    retried = runner.invoke(cli, ["failures", "retry", "--all", "--config", config])
    empty = runner.invoke(cli, ["failures", "list", "--config", config])

    assert listed.exit_code == 0, listed.output
    (entry,) = json.loads(listed.output)
    assert (entry["source"], entry["comment_id"], entry["error"]) == (
        "hostile",
        "c5",
        "RuntimeError: tensor shape mismatch",
    )
    assert f"#{entry['id']} hostile/c5 by " in text.output
    assert (retried.exit_code, retried.output) == (0, "1 comments will be scored again by the next run\n")
    assert empty.output == "no scoring failures\n"


def test_failures_retry_needs_ids_or_all(sqlite_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path / "c.toml", sqlite_url, sources=""))
    result = CliRunner().invoke(cli, ["failures", "retry", "--config", config])
    assert result.exit_code == 2
    assert "give failure ids or --all" in result.output


def test_score_reports_each_bad_line_and_comment_it_cannot_score_and_writes_every_other(tmp_path: Path) -> None:
    path = _thread_with_one_bomb(tmp_path / "in.jsonl")
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "c9", "text": \n')
        handle.write('{"id": "c10", "text": ["wrong", "type"]}\n')
        handle.write('{"id": "c11", "text": "lone \\udc00 surrogate"}\n')
    config = tmp_path / "c.toml"
    config.write_text('[scoring]\nscorer = "explodes-on-boom"\n', encoding="utf-8")

    result = CliRunner().invoke(cli, ["score", "--input", str(path), "--config", str(config)])

    assert result.exit_code == 1
    written = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert written == ["c1", "c2", "c3", "c4", "c6", "c7", "c8", "c11"]
    assert f"skipped {path}:9: invalid JSON" in result.stderr
    assert f"skipped {path}:10: text: Input should be a valid string" in result.stderr
    assert f"could not score {path}:5: RuntimeError: tensor shape mismatch" in result.stderr
    assert result.stderr.endswith("scored 8 comments, flagged 1, skipped 3\n")


@pytest.mark.usefixtures("prefect_harness")
def test_the_run_summary_counts_repairs_rejects_and_scoring_failures(tmp_path: Path, sqlite_url: str) -> None:
    path = _thread_with_one_bomb(tmp_path / "c.jsonl")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "c9", "text": "fine", "author": "evil\u0000name"}) + "\n")
        handle.write(json.dumps({"id": "c10", "text": "too old", "created_at": "0001-01-01T00:00:00+14:00"}) + "\n")
    sources = f'[[sources]]\nname = "hostile"\nkind = "jsonl"\npath = "{path}"\n'
    config = write_config(tmp_path / "c.toml", sqlite_url, '[scoring]\nscorer = "explodes-on-boom"\n', sources=sources)

    result = CliRunner().invoke(cli, ["run", "--config", str(config)])

    assert result.exit_code == 0, result.output
    assert "source hostile: 9 new, 0 edited, 0 unchanged, 1 rejected, 1 fields repaired" in result.output
    assert f"  rejected {path}:10: created_at: out of range" in result.output
    assert f"  repaired {path}:9: author: 1 NUL or lone surrogate character(s) replaced" in result.output
    assert "scored 8 comments, flagged 1 for review" in result.output
    assert "could not score 1 comments (skipped until edited or retried): moderation failures list" in result.output
    assert "  [c5] (hostile) RuntimeError: tensor shape mismatch" in result.output


def test_score_with_a_scorer_that_fails_on_every_comment_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": f"c{i}", "text": f"BOOM {i}"}) + "\n" for i in range(3)))
    config = tmp_path / "c.toml"
    config.write_text('[scoring]\nscorer = "explodes-on-boom"\n', encoding="utf-8")

    result = CliRunner().invoke(cli, ["score", "--input", str(path), "--config", str(config)])

    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if not line.startswith("Warning: ")]
    assert errors == [
        "Error: scorer lexicon failed on every comment of a batch of 3: RuntimeError: tensor shape mismatch"
    ]
    assert result.stdout == ""
