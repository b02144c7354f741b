"""Applying decisions on the comment's site: the write side of a source, one applier per kind.

An applier's `apply(action)` changes the comment on the site and returns what it did (recorded with the
action, and read back by an undo), or None when the decision changes nothing there. It raises
SiteActionError: `permanent` when trying again cannot help (refused credentials, a comment that is gone).

- wordpress: approve -> approved, reject -> trash or spam (per reason code), hold -> hold, undo -> the
  status the comment had before the undone action (read from the site before each change).
- sql: the configured status column (or statement) set to the configured value per decision.
- webhook: a JSON POST per decision, signed in the Standard Webhooks format, for any source.
- file: a JSON line per decision appended to a file, for any source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import Engine, MetaData, Table, create_engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from moderation.config import (
    SiteActionSettings,
    SourceSettings,
    SqlSourceSettings,
    WordPressSourceSettings,
    secret_from_env,
)
from moderation.errors import ConfigError, SiteActionError
from moderation.models import SiteAction
from moderation.redact import driver_message
from moderation.retry_after import retry_after
from moderation.sources.sql import site_status_of
from moderation.sources.wordpress import HTTPS_NEEDED, STATUS_NAMES, secure_or_loopback
from moderation.webhooks import signed_headers

API = "/wp-json/wp/v2"
RETRYABLE_HTTP = (408, 425, 429)


class Applier(Protocol):
    def apply(self, action: SiteAction) -> str | None: ...

    def site_status(self, applied: str) -> str | None:
        """The comment's status on the site after `applied`, as its source stores it (None: not tracked),
        so the next read does not take our own change for a change made on the site."""
        ...


def build_applier(source: SourceSettings, environ: Mapping[str, str]) -> Applier | None:
    """The applier for a source's `[sources.actions]`, or None when it has none."""
    settings = source.actions
    if settings is None:
        return None
    if settings.kind == "webhook":
        return WebhookApplier(source.name, settings, environ)
    if settings.kind == "file":
        return FileApplier(source.name, settings)
    if isinstance(source, WordPressSourceSettings):
        return WordPressApplier(source, settings, environ)
    if isinstance(source, SqlSourceSettings):
        return SqlApplier(source, settings, environ)
    raise ConfigError(
        f"sources.{source.name}.actions.kind: a {source.kind} source cannot be changed in place; "
        'use kind = "file" or "webhook"'
    )


def previous_status(action: SiteAction) -> str | None:
    """For an undo: the status the undone action replaced, as recorded when it was applied ("was->now")."""
    if action.undoes is None or not action.undoes.applied or "->" not in action.undoes.applied:
        return None
    was = action.undoes.applied.split("->", 1)[0]
    return was or None


# ---- wordpress ----------------------------------------------------------------------------------


class WordPressApplier:
    def __init__(
        self,
        source: WordPressSourceSettings,
        settings: SiteActionSettings,
        environ: Mapping[str, str],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = source.name
        self.settings = settings
        self.base_url = source.url.rstrip("/") + API
        password = secret_from_env(source.password_env, f"source {source.name}: password_env", dict(environ))
        if not (source.user and password):
            raise ConfigError(
                f"sources.{source.name}.actions: changing comments on WordPress needs user and password_env "
                "(an application password of a user who can moderate comments)"
            )
        if not secure_or_loopback(source.url):
            raise ConfigError(f"source {source.name}: {HTTPS_NEEDED}")
        self.auth = httpx.BasicAuth(source.user, password.get_secret_value())
        self.timeout = settings.timeout_seconds
        self.transport = transport

    def target(self, action: SiteAction) -> str | None:
        if action.decision == "approve":
            return "approved"
        if action.decision == "reject":
            return self.settings.reject_status_by_reason.get(action.reason_code or "", self.settings.reject_status)
        if action.decision == "hold":
            return "hold"
        if action.decision == "undo":
            return previous_status(action)
        return None

    def site_status(self, applied: str) -> str | None:
        return STATUS_NAMES.get(applied.rsplit("->", 1)[-1])

    def apply(self, action: SiteAction) -> str | None:
        status = self.target(action)
        if status is None:
            return None
        path = f"/comments/{action.comment_id}"
        with httpx.Client(
            base_url=self.base_url, auth=self.auth, timeout=self.timeout, transport=self.transport
        ) as client:
            was = self._request(client, "GET", path, params={"context": "edit", "_fields": "id,status"})
            if was.get("status") == status:
                return f"{status}->{status}"
            now = self._request(client, "POST", path, json={"status": status})
        return f"{was.get('status', '')}->{now.get('status', status)}"

    def _request(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        where = f"source {self.name}: {method} {self.base_url}{path}"
        try:
            response = client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SiteActionError(f"{where} failed: {exc or type(exc).__name__}") from None
        if response.status_code >= 400:
            raise _http_error(where, response, https_hint=self.base_url.startswith("http:"))
        body = response.json()
        if not isinstance(body, dict):
            raise SiteActionError(f"{where}: expected a JSON object, got {type(body).__name__}", permanent=True)
        return body


def _http_error(where: str, response: httpx.Response, *, https_hint: bool = False) -> SiteActionError:
    status = response.status_code
    message = f"{where} answered {status}: {_message(response)}"
    if status in (401, 403):
        https = f"{HTTPS_NEEDED}; and " if https_hint else ""
        message += f"; {https}check user and password_env (an application password of a user who may moderate comments)"
    if status in RETRYABLE_HTTP or status >= 500:
        seconds, date = retry_after(response)
        return SiteActionError(message, retry_after=seconds, retry_at=date)
    return SiteActionError(message, permanent=True)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]
    return response.reason_phrase


# ---- sql ----------------------------------------------------------------------------------------


class SqlApplier:
    def __init__(self, source: SqlSourceSettings, settings: SiteActionSettings, environ: Mapping[str, str]) -> None:
        if not (settings.status_column or settings.statement) or not settings.statuses:
            raise ConfigError(
                f"sources.{source.name}.actions: a sql source needs status_column (or statement) and statuses, "
                'e.g. status_column = "status", statuses = {approve = "approved", reject = "removed"}'
            )
        self.name = source.name
        self.source = source
        self.settings = settings
        password = secret_from_env(source.password_env, f"source {source.name}: password_env", dict(environ))
        url = make_url(source.url)
        self.url = url.set(password=password.get_secret_value()) if password else url
        self.display_url = url.render_as_string(hide_password=True)
        self._engine: Engine | None = None

    def target(self, action: SiteAction) -> str | None:
        if action.decision == "undo":
            return previous_status(action)
        if action.decision in ("approve", "reject", "hold"):
            return self.settings.statuses.get(action.decision)  # type: ignore[call-overload]
        return None

    def site_status(self, applied: str) -> str | None:
        if self.source.columns.status is None:
            return None
        return site_status_of(self.source, applied.rsplit("->", 1)[-1])

    def apply(self, action: SiteAction) -> str | None:
        status = self.target(action)
        if status is None:
            return None
        try:
            with self.engine().begin() as connection:
                if self.settings.statement:
                    connection.execute(text(self.settings.statement), {"status": status, "id": action.comment_id})
                    return f"->{status}"
                table = self._table(connection)
                key = table.c[self.source.columns.id]
                column = table.c[self.settings.status_column or ""]
                comment_id = _typed_id(action.comment_id, key)
                was = connection.execute(select(column).where(key == comment_id)).scalar()
                changed = connection.execute(update(table).where(key == comment_id).values({column.name: status}))
        except SQLAlchemyError as exc:
            raise SiteActionError(
                f"source {self.name}: cannot update {self.display_url}: {driver_message(exc)}"
            ) from None
        if not changed.rowcount:
            raise SiteActionError(
                f"source {self.name}: no row with {self.source.columns.id} = {action.comment_id} in "
                f"{self.source.table}",
                permanent=True,
            )
        return f"{'' if was is None else was}->{status}"

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.url, hide_parameters=True)  # rows never go into errors or logs
        return self._engine

    def _table(self, connection: Any) -> Table:
        schema, _, name = self.source.table.rpartition(".")
        table = Table(name, MetaData(), schema=schema or None, autoload_with=connection)
        for column in (self.source.columns.id, self.settings.status_column or ""):
            if column not in table.c:
                raise SiteActionError(
                    f"source {self.name}: table {self.source.table} has no column {column!r}", permanent=True
                )
        return table


def _typed_id(value: str, column: Any) -> Any:
    """The comment id as the key column's Python type (ids are stored as text here)."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    return int(value) if python_type is int else value


# ---- webhook and file ---------------------------------------------------------------------------


def decision_document(action: SiteAction) -> dict[str, Any]:
    """What a webhook receiver or a decisions file gets for one action."""
    return {
        "type": "comment.decision",
        "id": action.id,
        "source": action.source,
        "comment_id": action.comment_id,
        "decision": action.decision,
        "reason_code": action.reason_code,
        "actor": action.actor,
        "undoes": action.undoes.id if action.undoes else None,
        "undoes_decision": action.undoes.decision if action.undoes else None,
        "created_at": action.created_at.isoformat(),
    }


class WebhookApplier:
    def __init__(
        self,
        name: str,
        settings: SiteActionSettings,
        environ: Mapping[str, str],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.url = settings.url or ""
        if not secure_or_loopback(self.url):
            raise ConfigError(f"sources.{name}.actions.url: use https:// (plain http only on loopback)")
        secret = secret_from_env(settings.secret_env, f"sources.{name}.actions.secret_env", dict(environ))
        if secret is None:
            raise ConfigError(f"sources.{name}.actions.secret_env: set the signing secret")
        self._secret = secret
        self.timeout = settings.timeout_seconds
        self.transport = transport

    def apply(self, action: SiteAction) -> str | None:
        body = json.dumps(decision_document(action), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "comment-moderation",
            **signed_headers(self._secret.get_secret_value(), f"action_{action.id}", datetime.now(UTC), body),
        }
        where = f"source {self.name}: webhook"
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False) as client:
                response = client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SiteActionError(f"{where} failed: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise _http_error(where, response)
        return "webhook"

    def site_status(self, applied: str) -> str | None:
        return None


class FileApplier:
    def __init__(self, name: str, settings: SiteActionSettings) -> None:
        self.name = name
        self.path = Path(settings.path or "")

    def apply(self, action: SiteAction) -> str | None:
        line = json.dumps(decision_document(action), ensure_ascii=False) + "\n"
        try:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        except OSError as exc:
            raise SiteActionError(f"source {self.name}: cannot append to {self.path}: {exc.strerror}") from None
        return "file"

    def site_status(self, applied: str) -> str | None:
        return None
