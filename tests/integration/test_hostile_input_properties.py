"""Property: whatever a JSONL source holds, every valid record is stored and scored, every bad one is
reported with its line, and nothing crashes: the JSONL and CSV readers, storage (SQLite and PostgreSQL),
scoring and `moderation score`.

Valid records carry arbitrary Unicode (control characters, NUL, lone surrogates) in every text field,
huge texts and any representable date; bad ones have wrong types, overlong ids or names, dates
without a UTC equivalent, or are not JSON at all. One database per test; each example is a new source.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from moderation import pipeline
from moderation.config import FileSourceSettings, PolicySettings, ScoringSettings
from moderation.score_file import score_file
from moderation.sources.files import CsvFileSource
from moderation.storage.engine import database
from moderation.storage.tables import CommentRow, RejectedInputRow, ScoreRow

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LEXICON = ScoringSettings(scorer="lexicon")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never fails on a case no earlier run saw
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
_sources = itertools.count()

hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec=None, exclude_categories=()),  # every code point, surrogates included
        st.sampled_from(["\x00", "\ud83d", "\udc00", "\x1b", "\u202e", "\r", "\n", "\t", "\ufeff"]),
    ),
    max_size=40,
)
huge_text = st.integers(min_value=10_000, max_value=50_000).map(lambda n: ("lorem ipsum " * (n // 12 + 1))[:n])
dates = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]),
)


@st.composite
def valid_record(draw: st.DrawFn, index: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"c{index}-{draw(hostile_text)}",
        "text": draw(st.one_of(hostile_text, huge_text)) + "x",  # never blank
    }
    optional = {
        "author": st.one_of(st.none(), hostile_text),
        "post_id": st.one_of(st.none(), st.integers(1, 5), st.sampled_from(["p1", "p\x002"])),
        "parent_id": st.one_of(st.none(), hostile_text),
        "post_title": hostile_text,
        "created_at": st.one_of(st.none(), dates.map(datetime.isoformat)),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            record[name] = draw(strategy)
    return record


def invalid_record(index: int) -> st.SearchStrategy[dict[str, Any]]:
    base = {"id": f"c{index}", "text": "hello"}
    wrong_type = st.one_of(st.integers(), st.floats(), st.lists(st.integers(), max_size=2), st.booleans())
    return st.one_of(
        wrong_type.map(lambda value: {**base, "text": value}),
        st.sampled_from([None, True, 1.5, [1], {"a": 1}]).map(lambda value: {**base, "id": value}),
        st.integers(256, 2000).map(lambda n: {**base, "id": "i" * n}),
        st.integers(256, 2000).map(lambda n: {**base, "author": "a" * n}),
        st.integers(1, 9).map(lambda n: {**base, "author": n}),
        st.sampled_from(
            ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "yesterday", "2026-13-40T00:00:00"]
        ).map(lambda when: {**base, "created_at": when}),
        st.sampled_from(["", "   ", "\u00a0"]).map(lambda text: {**base, "text": text}),
    )


@dataclass
class Line:
    data: bytes
    valid_id: str | None
    """The stored id (after replacement) when the line is a valid comment; None for a bad line."""


@st.composite
def jsonl_lines(draw: st.DrawFn) -> list[Line]:
    lines = []
    for index in range(draw(st.integers(1, 15))):
        kind = draw(st.sampled_from(["valid", "valid", "invalid", "garbage"]))
        if kind == "valid":
            record = draw(valid_record(index))
            lines.append(Line(json.dumps(record).encode(), UNSTORABLE.sub("\ufffd", record["id"])))
        elif kind == "invalid":
            lines.append(Line(json.dumps(draw(invalid_record(index))).encode(), None))
        else:  # never JSON: starts with '#'; any bytes but a newline after it
            lines.append(Line(b"#" + draw(st.binary(max_size=60)).replace(b"\n", b" "), None))
    return lines


def _write(tmp_path: Path, name: str, lines: list[Line], bom: bool) -> Path:
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + b"".join(line.data + b"\n" for line in lines))
    return path


@EXAMPLES
@given(lines=jsonl_lines(), bom=st.booleans(), page_size=st.integers(1, 10))
def test_every_valid_record_is_stored_and_scored_and_every_bad_one_reported_with_its_line(
    db_url: str, tmp_path: Path, lines: list[Line], bom: bool, page_size: int
) -> None:
    name = f"hostile{next(_sources)}"
    path = _write(tmp_path, name, lines, bom)
    source = FileSourceSettings(name=name, kind="jsonl", path=str(path), page_size=page_size)

    report = pipeline.ingest(db_url, source, NOW)
    for rows in pipeline.plan_batches(db_url, LEXICON):
        pipeline.score_batch(db_url, rows, LEXICON, PolicySettings(), NOW)

    valid = {line.valid_id for line in lines if line.valid_id is not None}
    bad = {f"{path}:{number}" for number, line in enumerate(lines, start=1) if line.valid_id is None}
    with database(db_url).session() as session:
        stored = set(session.scalars(select(CommentRow.external_id).where(CommentRow.source == name)))
        rejected = set(session.scalars(select(RejectedInputRow.location).where(RejectedInputRow.source == name)))
        scored = session.scalar(
            select(func.count(func.distinct(ScoreRow.comment_id)))
            .join(CommentRow, CommentRow.id == ScoreRow.comment_id)
            .where(CommentRow.source == name)
        )
    assert stored == valid
    assert rejected == bad
    assert scored == len(valid)
    assert (report.counts.new, report.counts.rejected) == (len(valid), len(bad))


@EXAMPLES
@given(lines=jsonl_lines(), bom=st.booleans())
def test_moderation_score_writes_every_valid_record_and_reports_every_bad_line(
    tmp_path: Path, lines: list[Line], bom: bool
) -> None:
    path = _write(tmp_path, f"score{next(_sources)}", lines, bom)
    out = io.StringIO()

    report = score_file(path, out, scorer_name="lexicon")

    written = [json.loads(line)["id"] for line in out.getvalue().split("\n")[:-1]]  # not splitlines: U+0085
    assert written == [line.valid_id for line in lines if line.valid_id is not None]
    assert [r.location for r in report.rejected] == [
        f"{path}:{number}" for number, line in enumerate(lines, start=1) if line.valid_id is None
    ]
    assert report.failed == []


csv_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40
)  # quoted by the csv writer; newlines inside fields would make a record span lines


@st.composite
def csv_rows(draw: st.DrawFn) -> list[tuple[dict[str, str], str | None]]:
    rows: list[tuple[dict[str, str], str | None]] = []
    for index in range(draw(st.integers(1, 15))):
        row = {"id": f"c{index}-{draw(csv_text)}", "text": draw(csv_text) + "x", "author": draw(csv_text)}
        row["created_at"] = draw(st.one_of(st.just(""), dates.map(datetime.isoformat)))
        problem = draw(st.sampled_from([None, None, "id", "author", "created_at", "text"]))
        if problem in ("id", "author"):
            row[problem] = "z" * draw(st.integers(256, 1000))
        elif problem == "created_at":
            row["created_at"] = draw(st.sampled_from(["0001-01-01T00:00:00+14:00", "tomorrow"]))
        elif problem == "text":
            row["text"] = draw(st.sampled_from(["", "  ", "\u3000"]))
        rows.append((row, None if problem else UNSTORABLE.sub("\ufffd", row["id"])))
    return rows


@EXAMPLES
@given(rows=csv_rows(), bom=st.booleans())
def test_every_valid_csv_row_becomes_a_comment_and_every_bad_one_is_rejected_with_its_line(
    tmp_path: Path, rows: list[tuple[dict[str, str], str | None]], bom: bool
) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "text", "author", "created_at"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(row for row, _ in rows)
    path = tmp_path / f"rows{next(_sources)}.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))

    batch = CsvFileSource("rows", path).fetch(None)

    assert [c.id for c in batch.comments] == [valid for _, valid in rows if valid is not None]
    assert [r.location for r in batch.rejected] == [
        f"{path}:{number}" for number, (_, valid) in enumerate(rows, start=2) if valid is None
    ]
