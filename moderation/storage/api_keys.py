"""Keys of `moderation api` and their per-window request counters.

A key is 32 random bytes shown once; only its sha256 is stored (a key has too much entropy to guess, so a
fast hash is enough, and each request checks one in microseconds). Revoking keeps the row, so the name is
not reused by accident and the list shows when it stopped working.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from moderation.errors import ApiKeyError
from moderation.storage.engine import Database, dialect_insert
from moderation.storage.tables import ApiKeyRow, ApiRateWindowRow

KEY_PREFIX = "mod_"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    """The key's first characters, to recognise it in a list; not enough to use it."""
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(db: Database, name: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key called `name`: its record and the key itself (shown once, never stored)."""
    if not name.strip() or len(name) > 100:
        raise ApiKeyError("an API key name must be 1 to 100 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        if session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name)) is not None:
            raise ApiKeyError(f"an API key named {name!r} exists already: choose another name")
        row = ApiKeyRow(name=name, key_hash=hash_key(key), prefix=key[:12], created_at=now)
        session.add(row)
        session.flush()
        return _api_key(row), key


def revoke_api_key(db: Database, name: str, now: datetime) -> ApiKey:
    """Stop the key called `name` from working (at once, in every worker); revoking twice is harmless."""
    with db.session() as session:
        row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))
        if row is None:
            raise ApiKeyError(f"no API key named {name!r}: see `moderation api-key list`")
        if row.revoked_at is None:
            row.revoked_at = now
        return _api_key(row)


def list_api_keys(db: Database) -> list[ApiKey]:
    with db.session() as session:
        return [_api_key(row) for row in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]


def active_key(db: Database, key: str) -> ApiKey | None:
    """The unrevoked key whose hash matches `key`, or None."""
    with db.session() as session:
        row = session.scalar(
            select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(key), ApiKeyRow.revoked_at.is_(None))
        )
        return _api_key(row) if row is not None else None


def count_request(db: Database, key_id: int, window_start: int) -> int:
    """Add one request to the key's counter for the window starting at `window_start` (seconds since the
    epoch) and return the new count. One atomic upsert: concurrent workers never lose a request.
    Counters of earlier windows are deleted on the way."""
    with db.session() as session:
        insert = dialect_insert(session, ApiRateWindowRow)
        statement = (
            insert.values(key_id=key_id, window_start=window_start, requests=1)
            .on_conflict_do_update(
                index_elements=["key_id", "window_start"], set_={"requests": ApiRateWindowRow.requests + 1}
            )
            .returning(ApiRateWindowRow.requests)
        )
        count = int(session.execute(statement).scalar_one())
        if count == 1:  # the first request of a window clears the key's older windows
            session.execute(
                delete(ApiRateWindowRow).where(
                    ApiRateWindowRow.key_id == key_id, ApiRateWindowRow.window_start < window_start
                )
            )
        return count


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, row.prefix, row.created_at, row.revoked_at)


__all__ = ["ApiKey", "active_key", "count_request", "create_api_key", "list_api_keys", "revoke_api_key"]
