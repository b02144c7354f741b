"""Where comments come from. Each source reads what is new since its watermark."""

from moderation.config import SourceSettings
from moderation.sources.base import Batch, Source
from moderation.sources.files import CsvFileSource, JsonlFileSource

__all__ = ["Batch", "Source", "open_source"]


def open_source(settings: SourceSettings) -> Source:
    """The source object for one `[[sources]]` entry of the config."""
    if settings.kind == "jsonl":
        return JsonlFileSource(settings.name, settings.path, settings.posts)
    if settings.kind == "csv":
        return CsvFileSource(settings.name, settings.path, settings.posts)
    raise ValueError(f"unknown source kind {settings.kind!r}")
