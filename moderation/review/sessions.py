"""Logins of the review UI: rate-limited password checks and server-side sessions that logout and account
changes end at once. The cookie carries only a random token; the database keeps its SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from moderation.config import WebSettings
from moderation.review.accounts import authenticate
from moderation.review.actors import Moderator
from moderation.storage.engine import Database
from moderation.storage.tables import LoginAttemptRow, SessionRow, UserRow

LOGIN_LOCK_NAMESPACE = 7_000_002
"""First key of the PostgreSQL advisory lock that serialises the login checks of one user name and address."""


@dataclass(frozen=True)
class LoginOutcome:
    moderator: Moderator | None
    """Who logged in; None if the password was wrong or the login was blocked."""
    blocked_until: datetime | None = None
    """Set when too many logins failed: when this user name may try again from this address."""


def attempt_login(db: Database, name: str, password: str, ip: str, now: datetime, web: WebSettings) -> LoginOutcome:
    """Check `password` for `name` unless too many logins failed recently for `name` from `ip`.

    The limit check and the record of this attempt (as a failure, until the password proves right) are one
    transaction, so parallel guesses cannot all pass the check before any of them is recorded: at most
    web.login_max_failures passwords are tried per window.
    """
    attempt = _reserve_attempt(db, name[:255], ip[:64], now, web)
    if isinstance(attempt, datetime):
        return LoginOutcome(None, blocked_until=attempt)
    moderator = authenticate(db, name, password)
    if moderator is not None:
        with db.session() as session:
            session.execute(update(LoginAttemptRow).where(LoginAttemptRow.id == attempt).values(succeeded=True))
    return LoginOutcome(moderator)


def _reserve_attempt(db: Database, name: str, ip: str, now: datetime, web: WebSettings) -> int | datetime:
    """The id of this attempt, recorded as failed; or, if the limit is reached, when the block lifts."""
    window = timedelta(minutes=web.login_window_minutes)
    key = (LoginAttemptRow.username == name, LoginAttemptRow.ip == ip)
    with db.session() as session:
        _lock_attempts(session, name, ip)
        # On SQLite this first write takes the database's write lock, held to the end of the transaction.
        session.execute(delete(LoginAttemptRow).where(*key, LoginAttemptRow.created_at < now - window))
        last_success = session.scalar(
            select(func.max(LoginAttemptRow.created_at)).where(*key, LoginAttemptRow.succeeded)
        )
        since = now - window if last_success is None else max(now - window, last_success)
        failures = list(
            session.scalars(
                select(LoginAttemptRow.created_at)
                .where(*key, ~LoginAttemptRow.succeeded, LoginAttemptRow.created_at > since)
                .order_by(LoginAttemptRow.created_at)
            )
        )
        if len(failures) >= web.login_max_failures:
            return failures[len(failures) - web.login_max_failures] + window
        row = LoginAttemptRow(username=name, ip=ip, succeeded=False, created_at=now)
        session.add(row)
        session.flush()
        return row.id


def _lock_attempts(session: Session, name: str, ip: str) -> None:
    """On PostgreSQL, wait for other logins of the same user name and address to finish their check."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
            {"ns": LOGIN_LOCK_NAMESPACE, "key": f"{name}\n{ip}"},
        )


def start_session(db: Database, moderator: Moderator, now: datetime, hours: int) -> str:
    """A new session for `moderator`; returns the token for the cookie. Expired sessions are forgotten."""
    token = secrets.token_urlsafe(32)
    with db.session() as session:
        session.execute(delete(SessionRow).where(SessionRow.expires_at < now))
        user_id = session.scalars(select(UserRow.id).where(UserRow.name == moderator.name)).one()
        session.add(
            SessionRow(
                token_hash=_digest(token), user_id=user_id, created_at=now, expires_at=now + timedelta(hours=hours)
            )
        )
    return token


def session_moderator(db: Database, token: str, now: datetime) -> Moderator | None:
    """Who holds the session `token`, if it is neither ended nor expired and the account is enabled."""
    query = (
        select(UserRow)
        .join(SessionRow, SessionRow.user_id == UserRow.id)
        .where(
            SessionRow.token_hash == _digest(token),
            SessionRow.revoked_at.is_(None),
            SessionRow.expires_at > now,
            UserRow.disabled_at.is_(None),
        )
    )
    with db.session() as session:
        row = session.scalars(query).first()
        return Moderator(row.name, row.role) if row else None


def end_session(db: Database, token: str, now: datetime) -> None:
    with db.session() as session:
        session.execute(
            update(SessionRow)
            .where(SessionRow.token_hash == _digest(token), SessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def csrf_for(token: str) -> str:
    """The CSRF token of the session `token`: derived from it, so it dies with the session."""
    return hmac.new(token.encode("utf-8"), b"csrf", hashlib.sha256).hexdigest()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
