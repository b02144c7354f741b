"""Where comments come from. Each source reads what is new since its watermark, one page at a time."""

from datetime import datetime

from moderation.config import (
    FileSourceSettings,
    FolderSourceSettings,
    SourceSettings,
    SqlSourceSettings,
    WordPressSourceSettings,
)
from moderation.sources.base import Batch, Source, collect
from moderation.sources.files import CsvFileSource, JsonlFileSource

__all__ = ["Batch", "Source", "collect", "open_source"]


def open_source(settings: SourceSettings, now: datetime | None = None) -> Source:
    """The source object for one `[[sources]]` entry of the config; `now` is the run's time (lookback windows)."""
    if isinstance(settings, FileSourceSettings):
        reader = JsonlFileSource if settings.kind == "jsonl" else CsvFileSource
        return reader(settings.name, settings.path, settings.posts, settings.page_size)
    if isinstance(settings, FolderSourceSettings):
        from moderation.sources.folder import FolderSource

        return FolderSource(settings.name, settings.path, settings.pattern, settings.posts, settings.page_size)
    if isinstance(settings, SqlSourceSettings):
        from moderation.sources.sql import SqlTableSource

        return SqlTableSource(settings)
    if isinstance(settings, WordPressSourceSettings):
        from moderation.sources.wordpress import WordPressSource

        return WordPressSource(settings, now=now)
    raise ValueError(f"unknown source kind {settings.kind!r}")
