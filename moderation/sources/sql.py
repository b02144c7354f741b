"""A table of comments in any database SQLAlchemy reaches, read in keyset pages (never OFFSET).

Each page is `WHERE (key, id) > (:key, :id) ORDER BY key, id LIMIT n`, where the key is the updated
column when the mapping has one (so edits come round again) and the time column otherwise. The
watermark is the (key, id) of the last row stored. `lookback_seconds` re-reads a window before it at
the start of each run, for rows committed late with an older time; re-read rows that did not change
cost a comparison and are not scored again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, select, tuple_
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError

from moderation.config import SqlColumns, SqlSourceSettings, secret_from_env
from moderation.errors import SourceError
from moderation.models import SITE_APPROVED, SITE_HELD
from moderation.redact import driver_message, masked_url, without_url_secrets
from moderation.sources.base import Batch, add_record

# Record field <- mapping key
FIELDS = {
    "id": "id",
    "post_id": "post",
    "author": "author",
    "parent_id": "parent",
    "created_at": "time",
    "text": "text",
    "author_id": "author_id",
    "author_email": "author_email",
    "site_status": "status",
    "reports": "reports",
}


class SqlTableSource:
    def __init__(self, settings: SqlSourceSettings, environ: dict[str, str] | None = None) -> None:
        self.name = settings.name
        self.settings = settings
        password = secret_from_env(settings.password_env, f"source {settings.name}: password_env", environ)
        try:
            url = make_url(settings.url)
        except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
            reason = without_url_secrets(str(exc), settings.url)
            raise SourceError(f"source {self.name}: invalid url {masked_url(settings.url)}: {reason}") from None
        self.url = url.set(password=password.get_secret_value()) if password else url
        self.display_url = url.render_as_string(hide_password=True)

    def pages(self, watermark: dict[str, Any] | None) -> Iterator[Batch]:
        engine = self._engine()
        try:
            table = self._reflect(engine)
            columns = self.settings.columns
            key, ident = table.c[columns.updated or columns.time], table.c[columns.id]
            stored = _load_key(watermark)
            start = _lookback_start(stored, self.settings.lookback_seconds)
            cursor = None if start is not None else stored
            while True:
                query = select(*self._selected(table)).order_by(key, ident).limit(self.settings.page_size)
                if cursor is not None:
                    query = query.where(tuple_(key, ident) > tuple_(*cursor))
                elif start is not None:
                    query = query.where(key >= start)
                rows = self._read(engine, query)
                if not rows:
                    return
                page = Batch(source=self.name)
                for row in rows:
                    self._add_row(page, row)
                cursor = (rows[-1]["_key"], rows[-1]["id"])
                stored = cursor if stored is None or cursor > stored else stored
                page.watermark = _dump_key(stored)
                yield page
                if len(rows) < self.settings.page_size:
                    return
        finally:
            engine.dispose()

    def _engine(self) -> Engine:
        try:
            return create_engine(self.url, hide_parameters=True)
        except (SQLAlchemyError, ImportError) as exc:
            raise SourceError(f"source {self.name}: cannot use {self.display_url}: {exc}") from exc

    def _reflect(self, engine: Engine) -> Table:
        schema, _, name = self.settings.table.rpartition(".")
        try:
            table = Table(name, MetaData(), schema=schema or None, autoload_with=engine)
        except NoSuchTableError as exc:
            raise SourceError(f"source {self.name}: no table {self.settings.table!r} in {self.display_url}") from exc
        except SQLAlchemyError as exc:
            raise SourceError(f"source {self.name}: cannot read {self.display_url}: {driver_message(exc)}") from exc
        missing = [
            f"{name!r} (columns.{key})" for key, name in _mapping(self.settings.columns).items() if name not in table.c
        ]
        if missing:
            raise SourceError(
                f"source {self.name}: table {self.settings.table} has no column {', '.join(missing)}; "
                f"it has {', '.join(table.c.keys())}"
            )
        return table

    def _selected(self, table: Table) -> list[Any]:
        columns = self.settings.columns
        selected = [table.c[columns.updated or columns.time].label("_key")]
        for field, key in FIELDS.items():
            name = getattr(columns, key)
            if name is not None:
                selected.append(table.c[name].label(field))
        return selected

    def _read(self, engine: Engine, query: Any) -> list[dict[str, Any]]:
        try:
            with engine.connect() as connection:
                return [dict(row._mapping) for row in connection.execute(query)]
        except SQLAlchemyError as exc:
            reason = driver_message(exc)
            raise SourceError(f"source {self.name}: reading {self.settings.table} failed: {reason}") from exc

    def _add_row(self, page: Batch, row: dict[str, Any]) -> None:
        record = {field: row.get(field) for field in FIELDS}
        if record["parent_id"] in (0, "0"):
            record["parent_id"] = None  # WordPress-style schemas use 0 for "no parent"
        if self.settings.columns.status is not None:
            record["site_status"] = site_status_of(self.settings, record["site_status"])
        if self.settings.url_template is not None:
            record["url"] = self.settings.url_template.format(id=row["id"], post_id=row.get("post_id") or "")
        add_record(page, record, location=f"{self.settings.table}:{row['id']}")


def site_status_of(settings: SqlSourceSettings, value: Any) -> str:
    """The status column's value as the stored site status: approved, removed, or held (anything else)."""
    if value is not None and str(value) in settings.approved_values:
        return SITE_APPROVED
    if value is not None and str(value) in settings.removed_values:
        return "removed"
    return SITE_HELD


def _mapping(columns: SqlColumns) -> dict[str, str]:
    return {key: name for key, name in columns.model_dump().items() if name is not None}


def _load_key(watermark: dict[str, Any] | None) -> tuple[Any, Any] | None:
    if not watermark or "key" not in watermark:
        return None
    value, ident = watermark["key"], watermark["id"]
    if watermark.get("key_type") == "datetime":
        value = datetime.fromisoformat(value)
    elif watermark.get("key_type") == "date":
        value = date.fromisoformat(value)
    return value, ident


def _dump_key(key: tuple[Any, Any]) -> dict[str, Any]:
    value, ident = key
    if isinstance(value, datetime):
        return {"key": value.isoformat(), "key_type": "datetime", "id": ident}
    if isinstance(value, date):
        return {"key": value.isoformat(), "key_type": "date", "id": ident}
    return {"key": value, "id": ident}


def _lookback_start(after: tuple[Any, Any] | None, seconds: int) -> Any:
    if after is None or not seconds:
        return None
    value = after[0]
    if isinstance(value, datetime | date):
        return value - timedelta(seconds=seconds)
    if isinstance(value, int | float):
        return value - seconds  # a Unix time column
    return None
