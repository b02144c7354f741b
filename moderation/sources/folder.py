"""A folder of JSONL/CSV drops: each file is read once, in name order; a file whose content changes is read again.

The watermark holds, for each file read to the end, its size, modification time and SHA-256, plus the
position inside the file being read when a page ended there. Writers should drop files atomically
(write `name.tmp`, then rename): names starting with "." and ending in .tmp or .part are skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moderation.errors import SourceError
from moderation.sources.base import Batch
from moderation.sources.files import DEFAULT_PAGE_SIZE, CsvFileSource, JsonlFileSource, read_posts

FORMATS: dict[str, type[JsonlFileSource] | type[CsvFileSource]] = {
    ".jsonl": JsonlFileSource,
    ".ndjson": JsonlFileSource,
    ".csv": CsvFileSource,
}
SKIPPED_SUFFIXES = (".tmp", ".part")


class FolderSource:
    def __init__(
        self,
        name: str,
        path: str | Path,
        pattern: str = "*",
        posts_path: str | Path | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.name = name
        self.path = Path(path)
        self.pattern = pattern
        self.posts_path = Path(posts_path) if posts_path else None
        self.page_size = page_size

    def pages(self, watermark: dict[str, Any] | None) -> Iterator[Batch]:
        files = self._files()
        done: dict[str, dict[str, Any]] = {
            name: mark for name, mark in (watermark or {}).get("files", {}).items() if name in files
        }
        current = (watermark or {}).get("current")
        posts = read_posts(self.posts_path)
        for name, path in files.items():
            stat = path.stat()
            previous = done.get(name)
            if previous is not None and (previous["size"], previous["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
                continue
            digest = _sha256(path)
            if previous is not None and previous["sha256"] == digest:
                done[name] = {**previous, "mtime_ns": stat.st_mtime_ns}  # touched, not changed
                continue
            resume = None
            if current and current.get("name") == name and current.get("sha256") == digest:
                resume = current["position"]  # carry on where the last stored page ended
            reader = FORMATS[path.suffix.lower()](self.name, path, page_size=self.page_size)
            for page in reader.pages(resume):
                page.posts, posts = posts + page.posts, []
                position = {"name": name, "sha256": digest, "position": page.watermark}
                page.watermark = {"files": dict(done), "current": position}
                yield page
            done[name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
            current = None
        yield Batch(source=self.name, posts=posts, watermark={"files": done, "current": None})

    def _files(self) -> dict[str, Path]:
        if not self.path.is_dir():
            raise SourceError(f"source {self.name}: {self.path} is not a folder")
        found = {}
        for path in sorted(self.path.glob(self.pattern)):
            if not path.is_file() or path.name.startswith(".") or path.name.endswith(SKIPPED_SUFFIXES):
                continue
            if path.suffix.lower() in FORMATS:
                found[path.name] = path
        return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
    return digest.hexdigest()
