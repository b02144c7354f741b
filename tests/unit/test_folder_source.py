import json
import os
from pathlib import Path

import pytest

from moderation.errors import SourceError
from moderation.sources.base import collect
from moderation.sources.folder import FolderSource


def _drop(folder: Path, name: str, ids: list[str]) -> Path:
    path = folder / name
    if name.endswith(".csv"):
        path.write_text("id,author,text\n" + "".join(f"{i},ann,comment {i}\n" for i in ids))
    else:
        path.write_text("".join(json.dumps({"id": i, "author": "ann", "text": f"comment {i}"}) + "\n" for i in ids))
    return path


def _read(source: FolderSource, watermark: dict | None) -> tuple[list[str], dict]:  # type: ignore[type-arg]
    batch = collect(source.pages(watermark), source.name)
    return [c.id for c in batch.comments], batch.watermark


def test_each_dropped_file_is_read_once_in_name_order(tmp_path: Path) -> None:
    _drop(tmp_path, "b.csv", ["3"])
    _drop(tmp_path, "a.jsonl", ["1", "2"])
    source = FolderSource("drops", tmp_path)
    ids, watermark = _read(source, None)
    assert ids == ["1", "2", "3"]
    assert set(watermark["files"]) == {"a.jsonl", "b.csv"}
    _drop(tmp_path, "c.jsonl", ["4"])
    assert _read(source, watermark)[0] == ["4"]


def test_a_file_whose_content_changed_is_read_again_and_a_touched_one_is_not(tmp_path: Path) -> None:
    path = _drop(tmp_path, "a.jsonl", ["1"])
    source = FolderSource("drops", tmp_path)
    _, watermark = _read(source, None)
    os.utime(path, ns=(1, 1))
    ids, watermark = _read(source, watermark)
    assert ids == []
    _drop(tmp_path, "a.jsonl", ["1", "2"])
    assert _read(source, watermark)[0] == ["1", "2"]


def test_files_being_written_and_other_formats_are_skipped(tmp_path: Path) -> None:
    _drop(tmp_path, "a.jsonl.tmp", ["1"])
    _drop(tmp_path, ".b.jsonl", ["2"])
    _drop(tmp_path, "c.jsonl.part", ["3"])
    (tmp_path / "notes.txt").write_text("not comments")
    _drop(tmp_path, "d.jsonl", ["4"])
    assert _read(FolderSource("drops", tmp_path), None)[0] == ["4"]


def test_a_run_stopped_after_a_page_resumes_inside_the_file(tmp_path: Path) -> None:
    _drop(tmp_path, "a.jsonl", ["1", "2", "3"])
    _drop(tmp_path, "b.jsonl", ["4"])
    source = FolderSource("drops", tmp_path, page_size=2)
    first_page = next(iter(source.pages(None)))
    assert [c.id for c in first_page.comments] == ["1", "2"]
    assert _read(source, first_page.watermark)[0] == ["3", "4"]


def test_a_missing_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is not a folder"):
        list(FolderSource("drops", tmp_path / "nope").pages(None))
