"""What every database can store: the limits a record is checked against before it leaves a source.

PostgreSQL text cannot hold NUL, and no UTF-8 column can hold a lone UTF-16 surrogate (a truncated
emoji escape such as "\\ud83d"); both are replaced with U+FFFD. Ids and names are limited to the
column sizes in storage/tables.py; a date must have a UTC equivalent that Python can represent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

REPLACEMENT = "\ufffd"
ID_LENGTH = 255
"""comments.external_id, post_external_id, parent_external_id, author; posts.external_id and author."""
LOCATION_LENGTH = 1000
"""rejected_inputs.location."""
STATUS_LENGTH = 20
"""comments.site_status."""
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> tuple[str, int]:
    """`value` with NUL and lone surrogates replaced by U+FFFD, and how many were replaced."""
    return UNSTORABLE.subn(REPLACEMENT, value)


def make_storable(value: str) -> str:
    """`value` made storable (for texts written as they are: errors, raw input, locations)."""
    return storable_text(value)[0]


def clip(value: str, length: int) -> str:
    """At most `length` characters: the start of `value` and a marker that it was cut."""
    if len(value) <= length:
        return value
    return value[: length - 1] + "…"


def check_length(value: str, length: int = ID_LENGTH) -> str:
    """`value` unchanged, or a ValueError naming the limit (for pydantic validators)."""
    if len(value) > length:
        raise ValueError(f"longer than {length} characters ({len(value)})")
    return value


def check_date(value: datetime) -> datetime:
    """`value` if it has a UTC equivalent (e.g. not 0001-01-01T00:00:00+14:00), else a ValueError."""
    if value.tzinfo is None:
        return value
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"out of range: {value.isoformat()} has no UTC equivalent in years 1-9999") from None
    return value
