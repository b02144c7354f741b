"""Moderator accounts: argon2 password hashes, disable / enable / delete / new password (audited), the key
that signs session cookies."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from moderation.errors import AccountError
from moderation.models import SYSTEM_ACTOR
from moderation.review.actors import Moderator
from moderation.storage.engine import Database
from moderation.storage.tables import ROLES, AccountEventRow, AppSecretRow, SessionRow, UserRow

MIN_PASSWORD_LENGTH = 10
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
SESSION_KEY = "session_key"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    created_at: datetime
    active: bool = True


@dataclass(frozen=True)
class AccountEvent:
    actor: str
    action: str
    username: str
    created_at: datetime


def add_user(db: Database, name: str, password: str, role: str, now: datetime, *, by: str = "cli") -> Moderator:
    """Create an account; the password is kept only as an argon2 hash."""
    if not NAME.match(name):
        raise AccountError(
            f"invalid user name {name!r}: use 1-64 letters, digits and . _ @ -, starting with a letter or digit"
        )
    if name.lower() == SYSTEM_ACTOR:
        raise AccountError(f"{name!r} is reserved for the pipeline's own decisions; pick another name")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    _check_password(password)
    try:
        with db.session() as session:
            session.add(UserRow(name=name, password_hash=_hasher.hash(password), role=role, created_at=now))
            _audit(session, by, "add", name, now)
    except IntegrityError as exc:
        raise AccountError(f"user {name!r} already exists") from exc
    return Moderator(name, role)


def list_users(db: Database) -> list[Account]:
    with db.session() as session:
        rows = session.scalars(select(UserRow).order_by(UserRow.name))
        return [Account(r.name, r.role, r.created_at, r.disabled_at is None) for r in rows]


def active_moderator(db: Database, name: str) -> Moderator:
    """The account `name`, which must exist and be enabled (for `--as NAME`)."""
    with db.session() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
        if row is None:
            raise AccountError(f"no user {name!r}: create one with `moderation user add {name}`")
        if row.disabled_at is not None:
            raise AccountError(f"user {name!r} is disabled: enable it with `moderation user enable {name}`")
        return Moderator(row.name, row.role)


def authenticate(db: Database, name: str, password: str) -> Moderator | None:
    """The moderator if `password` is theirs and the account is enabled, else None (in about the same time for
    unknown names)."""
    with db.session() as session:
        row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
        stored = row.password_hash if row else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled_at is not None:
            return None
        if _hasher.check_needs_rehash(stored):
            row.password_hash = _hasher.hash(password)
        return Moderator(row.name, row.role)


def set_password(db: Database, name: str, password: str, now: datetime, *, by: str) -> None:
    """Give `name` a new password; their sessions end."""
    _check_password(password)
    with db.session() as session:
        row = _account(session, name)
        row.password_hash = _hasher.hash(password)
        _end_sessions(session, row, now)
        _audit(session, by, "set-password", name, now)


def disable_user(db: Database, name: str, now: datetime, *, by: str) -> None:
    """Disable `name`: their sessions end at once, logins and `--as` are refused until enabled again."""
    with db.session() as session:
        row = _account(session, name)
        row.disabled_at = row.disabled_at or now
        _end_sessions(session, row, now)
        _audit(session, by, "disable", name, now)


def enable_user(db: Database, name: str, now: datetime, *, by: str) -> None:
    with db.session() as session:
        _account(session, name).disabled_at = None
        _audit(session, by, "enable", name, now)


def delete_user(db: Database, name: str, now: datetime, *, by: str) -> None:
    """Delete the account and its sessions; its decisions stay in the audit log under its name."""
    with db.session() as session:
        row = _account(session, name)
        session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
        session.delete(row)
        _audit(session, by, "delete", name, now)


def account_events(db: Database, name: str | None = None) -> list[AccountEvent]:
    """The audit of account changes, oldest first (only those of `name` if given)."""
    query = select(AccountEventRow).order_by(AccountEventRow.id)
    if name is not None:
        query = query.where(AccountEventRow.username == name)
    with db.session() as session:
        return [AccountEvent(r.actor, r.action, r.username, r.created_at) for r in session.scalars(query)]


def _account(session: Session, name: str) -> UserRow:
    row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
    if row is None:
        raise AccountError(f"no user {name!r}: `moderation user list` shows the accounts")
    return row


def _end_sessions(session: Session, user: UserRow, now: datetime) -> None:
    session.execute(
        update(SessionRow).where(SessionRow.user_id == user.id, SessionRow.revoked_at.is_(None)).values(revoked_at=now)
    )


def _audit(session: Session, by: str, action: str, name: str, now: datetime) -> None:
    session.add(AccountEventRow(actor=by[:255], action=action, username=name, created_at=now))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")


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
