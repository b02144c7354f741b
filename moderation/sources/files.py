"""JSONL and CSV files of comments, read incrementally (appended lines only), in pages, record by record."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from moderation.errors import SourceError
from moderation.models import Post, RejectedRecord
from moderation.sources.base import Batch, add_record, collect, parse_post

DEFAULT_PAGE_SIZE = 1000


class _FileSource:
    """One file of comments (and optionally one of posts), read in pages since a watermark."""

    def __init__(
        self, name: str, path: str | Path, posts_path: str | Path | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> None:
        self.name = name
        self.path = Path(path)
        self.posts_path = Path(posts_path) if posts_path else None
        self.page_size = page_size

    def fetch(self, watermark: dict[str, Any] | None) -> Batch:
        """Everything after `watermark` in one batch (small files; the flow reads `pages`)."""
        return collect(self.pages(watermark), self.name)

    def pages(self, watermark: dict[str, Any] | None) -> Iterator[Batch]:
        raise NotImplementedError


class JsonlFileSource(_FileSource):
    """One JSON object per line. The watermark is the byte offset after the last complete line read."""

    def pages(self, watermark: dict[str, Any] | None) -> Iterator[Batch]:
        offset = _resume_offset(self.path, watermark)
        line_number = int((watermark or {}).get("line", 0)) if offset else 0
        page = Batch(source=self.name, posts=read_posts(self.posts_path))
        records = 0
        with _open(self.path, "rb") as handle:
            handle.seek(offset)
            for raw_line in handle:
                if not raw_line.endswith(b"\n") and _is_partial_json(raw_line):
                    break  # a writer is still appending this line; read it next time
                offset += len(raw_line)
                line_number += 1
                records += self._add_line(page, raw_line, line_number)
                if records >= self.page_size:
                    yield _finish(page, {"offset": offset, "line": line_number, "size": offset})
                    page, records = Batch(source=self.name), 0
        yield _finish(page, {"offset": offset, "line": line_number, "size": offset})

    def _add_line(self, batch: Batch, raw_line: bytes, line_number: int) -> int:
        # A byte-order mark (some editors write one at the start of a file) is not part of the record.
        text = raw_line.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
        if not text:
            return 0
        location = f"{self.path}:{line_number}"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            batch.rejected.append(_rejected(self.name, location, f"invalid JSON: {exc.msg}", text))
            return 1
        add_record(batch, data, location=location, raw=text)
        return 1


class CsvFileSource(_FileSource):
    """A CSV file with a header row. The watermark is the number of data rows read."""

    def pages(self, watermark: dict[str, Any] | None) -> Iterator[Batch]:
        size = _file_size(self.path)
        rows_done = int((watermark or {}).get("rows", 0))
        if watermark and size < int(watermark.get("size", 0)):
            rows_done = 0  # the file was replaced: read it again (ingest is idempotent)
        page = Batch(source=self.name, posts=read_posts(self.posts_path))
        rows_seen = records = 0
        for line_number, row in self._rows():
            rows_seen += 1
            if rows_seen <= rows_done:
                continue
            location = f"{self.path}:{line_number}"
            if isinstance(row, csv.Error):
                page.rejected.append(_rejected(self.name, location, f"invalid CSV: {row}", ""))
            elif None in row:
                raw = json.dumps(row, ensure_ascii=False)
                page.rejected.append(_rejected(self.name, location, "row has more fields than the header", raw))
            else:
                add_record(page, dict(row), location=location, raw=json.dumps(row, ensure_ascii=False))
            records += 1
            if records >= self.page_size:
                yield _finish(page, {"rows": rows_seen, "size": size})
                page, records = Batch(source=self.name), 0
        yield _finish(page, {"rows": rows_seen, "size": size})

    def _rows(self) -> Iterator[tuple[int, dict[str | None, Any] | csv.Error]]:
        """Each data row with its line number; a row the csv module cannot read (e.g. a field over its size
        limit) comes as its error, and reading carries on with the next line."""
        with _open(self.path, "r", newline="", encoding="utf-8-sig", errors="replace") as handle:
            reader = csv.DictReader(handle)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield reader.line_num + 1, exc  # line_num does not count the line that failed yet
                    continue
                yield reader.line_num, row


def _finish(page: Batch, watermark: dict[str, Any]) -> Batch:
    page.watermark = watermark
    _add_posts_from_records(page)
    return page


def read_posts(path: Path | None) -> list[Post]:
    """Posts from a JSON object, a JSON array or JSONL; a missing optional file is an error worth seeing."""
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read posts file {path}: {exc.strerror}") from exc
    try:
        items = _json_items(text)
        return [parse_post(item) for item in items]
    except (json.JSONDecodeError, ValidationError) as exc:
        raise SourceError(f"posts file {path} is not valid: {exc}") from exc


def _json_items(text: str) -> list[Any]:
    stripped = text.strip()
    if not stripped:
        return []
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError:
        return [json.loads(line) for line in stripped.splitlines() if line.strip()]
    return data if isinstance(data, list) else [data]


def _add_posts_from_records(batch: Batch) -> None:
    """Later records win over the posts file for the same post id; one Post per id."""
    unique: dict[str, Post] = {}
    for post in batch.posts:
        unique[post.id] = post
    batch.posts = list(unique.values())


def _rejected(source: str, location: str, error: str, raw: str) -> RejectedRecord:
    return RejectedRecord(source, location, error, raw)


def _resume_offset(path: Path, watermark: dict[str, Any] | None) -> int:
    if not watermark:
        return 0
    offset = int(watermark.get("offset", 0))
    return 0 if _file_size(path) < offset else offset


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise SourceError(f"cannot read comments file {path}: {exc.strerror}") from exc


def _open(path: Path, mode: str, **kwargs: Any) -> Any:
    try:
        if "b" in mode:
            return path.open(mode)
        return path.open(mode, **{"encoding": "utf-8", **kwargs})
    except OSError as exc:
        raise SourceError(f"cannot read comments file {path}: {exc.strerror}") from exc


def _is_partial_json(raw_line: bytes) -> bool:
    try:
        json.loads(raw_line)
    except ValueError:
        return True
    return False
