"""Moderator accounts: argon2 password hashes, login throttling, the session signing key."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from moderation.config import WebSettings
from moderation.errors import AccountError
from moderation.queue import as_utc
from moderation.review.actors import Moderator
from moderation.review.decisions import SYSTEM_ACTOR
from moderation.storage.engine import Database
from moderation.storage.tables import ROLES, AppSecretRow, LoginAttemptRow, UserRow

MIN_PASSWORD_LENGTH = 10
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
SESSION_KEY = "session_key"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    created_at: datetime


def add_user(db: Database, name: str, password: str, role: str, now: datetime) -> Moderator:
    """Create an account; the password is kept only as an argon2 hash."""
    if not NAME.match(name):
        raise AccountError(
            f"invalid user name {name!r}: use 1-64 letters, digits and . _ @ -, starting with a letter or digit"
        )
    if name.lower() == SYSTEM_ACTOR:
        raise AccountError(f"{name!r} is reserved for the pipeline's own decisions; pick another name")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    try:
        with db.session() as session:
            session.add(UserRow(name=name, password_hash=_hasher.hash(password), role=role, created_at=now))
    except IntegrityError as exc:
        raise AccountError(f"user {name!r} already exists") from exc
    return Moderator(name, role)


def list_users(db: Database) -> list[Account]:
    with db.session() as session:
        rows = session.scalars(select(UserRow).order_by(UserRow.name))
        return [Account(r.name, r.role, as_utc(r.created_at)) for r in rows]


def get_moderator(db: Database, name: str) -> Moderator | None:
    with db.session() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
        return Moderator(row.name, row.role) if row else None


def authenticate(db: Database, name: str, password: str) -> Moderator | None:
    """The moderator if `password` is theirs, else None (in about the same time for unknown names)."""
    with db.session() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
        stored = row.password_hash if row else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(stored):
            row.password_hash = _hasher.hash(password)
        return Moderator(row.name, row.role)


def login_blocked_until(db: Database, name: str, ip: str, now: datetime, web: WebSettings) -> datetime | None:
    """When `name` may try again from `ip`, if too many logins failed recently; None if not blocked.

    Failures count within web.login_window_minutes and only after the last successful login.
    """
    window = timedelta(minutes=web.login_window_minutes)
    key = (LoginAttemptRow.username == name, LoginAttemptRow.ip == ip)
    with db.session() as session:
        last_success = session.scalar(
            select(func.max(LoginAttemptRow.created_at)).where(*key, LoginAttemptRow.succeeded)
        )
        since = now - window
        if last_success is not None:
            since = max(since, as_utc(last_success))
        failures = [
            as_utc(t)
            for t in session.scalars(
                select(LoginAttemptRow.created_at)
                .where(*key, ~LoginAttemptRow.succeeded, LoginAttemptRow.created_at > since)
                .order_by(LoginAttemptRow.created_at)
            )
        ]
    if len(failures) < web.login_max_failures:
        return None
    return failures[len(failures) - web.login_max_failures] + window


def record_login(db: Database, name: str, ip: str, succeeded: bool, now: datetime, web: WebSettings) -> None:
    """Remember a login attempt; attempts older than the window are forgotten."""
    window = timedelta(minutes=web.login_window_minutes)
    with db.session() as session:
        session.execute(
            delete(LoginAttemptRow).where(
                LoginAttemptRow.username == name, LoginAttemptRow.ip == ip, LoginAttemptRow.created_at < now - window
            )
        )
        session.add(LoginAttemptRow(username=name[:255], ip=ip[:64], succeeded=succeeded, created_at=now))


def session_secret(db: Database, now: datetime) -> str:
    """The key that signs session cookies when MODERATION_SECRET_KEY is unset: generated once, kept in the
    database so every web process on it shares the key."""
    with db.session() as session:
        row = session.get(AppSecretRow, SESSION_KEY)
        if row is not None:
            return row.value
    try:
        with db.session() as session:
            session.add(AppSecretRow(name=SESSION_KEY, value=secrets.token_urlsafe(48), created_at=now))
    except IntegrityError:
        pass  # another process generated it first
    with db.session() as session:
        return session.get_one(AppSecretRow, SESSION_KEY).value


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))
