"""The Retry-After header of an HTTP answer: delay-seconds ("120") or an HTTP-date (RFC 9110 10.2.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


def retry_after(response: httpx.Response) -> tuple[float | None, datetime | None]:
    """(seconds, None) for delay-seconds, (None, time) for an HTTP-date, (None, None) when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)), None
    except ValueError:
        pass
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None, None
    return None, date if date.tzinfo else date.replace(tzinfo=UTC)  # asctime dates carry no zone: GMT
