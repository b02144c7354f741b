"""Signed webhooks in the Standard Webhooks format (https://www.standardwebhooks.com/).

Each request carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`:
`v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`. The secret is `whsec_<base64 key>` as the
standard issues them, or any other string, whose UTF-8 bytes are then the key. Receivers verify with the
standard's libraries, or by recomputing the HMAC over the raw body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime

PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX) :], validate=True)
        except binascii.Error:
            pass
    return secret.encode("utf-8")


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, message_id: str, sent_at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, sent at `sent_at`."""
    timestamp = int(sent_at.timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """True when one of the `v1` signatures in `headers` matches `body` (the receiver's side; for tests and
    for sites written in Python)."""
    expected = signature(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    return any(hmac.compare_digest(expected, given) for given in headers["webhook-signature"].split())
