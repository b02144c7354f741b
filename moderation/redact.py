"""Keeping secrets out of messages: database URLs are shown without their password."""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

_USERINFO_PASSWORD = re.compile(r"([^/:@\s]*:)([^@\s/]*)@")
"""user:password@ in a URL, with or without a scheme before it."""


def masked_url(url: str) -> str:
    """`url` with its password replaced by ***, even when SQLAlchemy cannot parse the rest of it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return _USERINFO_PASSWORD.sub(r"\1***@", url)


def without_url_secrets(message: str, url: str) -> str:
    """`message` (say, a driver's error) with `url` and its password replaced by their masked forms."""
    masked = message.replace(url, masked_url(url))
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError, TypeError):
        found = _USERINFO_PASSWORD.search(url)
        password = found.group(2) if found else None
    return masked.replace(str(password), "***") if password else masked


def driver_message(exc: SQLAlchemyError) -> str:
    """The first line of what the database said: no SQL, no parameters (comment text, passwords)."""
    said = str(getattr(exc, "orig", None) or exc).strip()
    return said.splitlines()[0] if said else type(exc).__name__
