"""Records are made storable where a source reads them: one bad record never stops the page."""

import json
from pathlib import Path

import pytest

from moderation.sources.files import CsvFileSource, JsonlFileSource
from moderation.sources.storable import ID_LENGTH, LOCATION_LENGTH
from moderation.storage.tables import CommentRow, PostRow, RejectedInputRow


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("field", ["id", "post_id", "parent_id", "author", "post_title", "text"])
def test_nul_in_any_text_field_is_replaced_and_the_repair_is_noted_with_the_line(tmp_path: Path, field: str) -> None:
    record = {"id": "c1", "text": "hello", "author": "a", "post_id": "p1", "post_title": "T", "parent_id": "c0"}
    record[field] = f"evil\u0000{record[field]}"
    path = _jsonl(tmp_path / "c.jsonl", [json.dumps(record), json.dumps({"id": "c2", "text": "fine"})])

    batch = JsonlFileSource("s", path).fetch(None)

    assert batch.rejected == []
    stored = {"post_title": batch.posts[0].title, **vars(batch.comments[0])}[field]
    assert "\x00" not in stored and "\ufffd" in stored
    assert batch.repaired == [f"{path}:1: {field}: 1 NUL or lone surrogate character(s) replaced with U+FFFD"]
    assert [c.id for c in batch.comments][1] == "c2"


def test_lone_surrogate_escape_in_text_is_replaced_and_the_comment_kept(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", ['{"id": "c1", "text": "broken emoji \\ud83d here"}'])

    batch = JsonlFileSource("s", path).fetch(None)

    assert batch.comments[0].text == "broken emoji \ufffd here"
    batch.comments[0].text.encode("utf-8")  # would raise on a lone surrogate


@pytest.mark.parametrize("field", ["id", "author", "post_id", "parent_id"])
def test_id_or_name_longer_than_its_column_rejects_the_record_with_its_line(tmp_path: Path, field: str) -> None:
    record = {"id": "c1", "text": "hello", field: "x" * (ID_LENGTH + 1)}
    path = _jsonl(tmp_path / "c.jsonl", [json.dumps(record), json.dumps({"id": "c2", "text": "kept"})])

    batch = JsonlFileSource("s", path).fetch(None)

    assert [c.id for c in batch.comments] == ["c2"]
    assert [(r.location, r.error) for r in batch.rejected] == [
        (f"{path}:1", f"{field}: longer than {ID_LENGTH} characters ({ID_LENGTH + 1})")
    ]
    assert batch.rejected[0].external_id is None or len(batch.rejected[0].external_id) <= ID_LENGTH


def test_id_of_exactly_the_column_size_is_kept(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [json.dumps({"id": "x" * ID_LENGTH, "text": "hello"})])
    assert len(JsonlFileSource("s", path).fetch(None).comments) == 1


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-10:00"])
def test_date_without_a_utc_equivalent_is_rejected_with_a_clear_reason(tmp_path: Path, when: str) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [json.dumps({"id": "c1", "text": "old", "created_at": when})])

    batch = JsonlFileSource("s", path).fetch(None)

    assert batch.comments == []
    assert batch.rejected[0].location == f"{path}:1"
    assert batch.rejected[0].error == f"created_at: out of range: {when} has no UTC equivalent in years 1-9999"


def test_byte_order_mark_at_the_start_of_a_jsonl_file_keeps_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"id": "c1", "text": "first"}\n{"id": "c2", "text": "second"}\n')

    batch = JsonlFileSource("s", path).fetch(None)

    assert [c.id for c in batch.comments] == ["c1", "c2"]
    assert batch.rejected == []


def test_byte_order_mark_at_the_start_of_a_csv_file_keeps_the_id_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"\xef\xbb\xbfid,text\r\nc1,first\r\n")

    batch = CsvFileSource("s", path).fetch(None)

    assert [c.id for c in batch.comments] == ["c1"]


def test_csv_row_the_csv_module_cannot_read_is_rejected_with_its_line_and_the_next_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f'id,text\nc1,first\nc2,"{"x" * 200_000}"\nc3,third\n', encoding="utf-8")

    batch = CsvFileSource("s", path).fetch(None)

    assert [c.id for c in batch.comments] == ["c1", "c3"]
    assert [(r.location, r.error.split(":")[0]) for r in batch.rejected] == [(f"{path}:3", "invalid CSV")]


def test_record_limits_are_the_storage_column_sizes() -> None:
    for column in (
        CommentRow.external_id,
        CommentRow.author,
        CommentRow.post_external_id,
        CommentRow.parent_external_id,
        PostRow.external_id,
        PostRow.author,
        RejectedInputRow.external_id,
    ):
        assert column.type.length == ID_LENGTH, column
    assert RejectedInputRow.location.type.length == LOCATION_LENGTH


def test_nul_and_surrogates_in_a_posts_file_are_replaced(tmp_path: Path) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": "p1", "title": "T\\u0000", "body": "b \\ud83d", "author": "tim\\u0000"}\n')
    comments = _jsonl(tmp_path / "c.jsonl", [json.dumps({"id": "c1", "text": "hi", "post_id": "p1"})])

    (post,) = JsonlFileSource("s", comments, posts).fetch(None).posts

    assert (post.title, post.body, post.author) == ("T\ufffd", "b \ufffd", "tim\ufffd")


def test_an_empty_date_cell_in_a_csv_row_means_no_date(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,text,created_at\nc1,hello,\n", encoding="utf-8")

    batch = CsvFileSource("s", path).fetch(None)

    assert [(c.id, c.created_at) for c in batch.comments] == [("c1", None)]
