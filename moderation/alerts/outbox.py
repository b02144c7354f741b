"""Delivering the outbox: claim due alerts, send each once, record what happened.

- delivered: marked, never sent again
- transient failure (connection refused, timeout, HTTP 5xx/408/429, SMTP 4xx): back to pending with
  `next_attempt_at` = now + backoff (doubling from `first_retry_seconds`, capped at `max_retry_minutes`);
  a channel down for hours only delays its alerts. After one transient failure, the channel's other
  alerts in this run are put back unattempted, so a dead channel costs one timeout per run.
- permanent failure (HTTP 4xx, SMTP 5xx, login refused): marked failed with the reason
  (`moderation alerts list --status failed`; `moderation alerts retry ID` sends it again)
- a deliverer that dies mid-send leaves its claim; after `claim_timeout_minutes` the next run takes it
  over. That is the one case where a message can arrive twice: sent, then the crash came before the
  mark. Receivers can recognise the repeat by the alert's key (Idempotency-Key header, Message-ID).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from moderation.alerts.channels import Channel
from moderation.alerts.messages import alert_from_entry
from moderation.config import DeliverySettings
from moderation.errors import AlertDeliveryError
from moderation.storage import outbox
from moderation.storage.engine import Database

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    """One line per failed send: alert id, channel, what went wrong (never a secret)."""


def backoff(attempts: int, settings: DeliverySettings, retry_after: float | None = None) -> timedelta:
    """Delay before the next try after `attempts` failed ones: first_retry_seconds x 2^(attempts-1), capped."""
    cap = settings.max_retry_minutes * 60
    delay = min(settings.first_retry_seconds * 2 ** max(attempts - 1, 0), cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return timedelta(seconds=delay)


def deliver_due(
    db: Database,
    channels: Mapping[str, Channel],
    base_url: str,
    settings: DeliverySettings,
    now: datetime,
    *,
    token: str | None = None,
) -> DeliveryReport:
    """Send every alert that is due now (up to `settings.batch_size`) through its channel, once."""
    token = token or uuid.uuid4().hex
    stale_before = now - timedelta(minutes=settings.claim_timeout_minutes)
    claimed = outbox.claim_due(db, now, token=token, limit=settings.batch_size, stale_before=stale_before)
    report = DeliveryReport()
    down: dict[str, datetime] = {}
    for entry in claimed:
        channel = channels.get(entry.channel)
        if channel is None:
            reason = f"channel {entry.channel!r} is not configured in [[alerts.channels]]"
            _record(report, entry.id, entry.channel, reason)
            outbox.mark_failed(db, entry.id, token, reason)
            report.failed += 1
            continue
        if entry.channel in down:
            outbox.release(db, entry.id, token, down[entry.channel])
            report.retrying += 1
            continue
        try:
            channel.send(alert_from_entry(entry, base_url))
        except AlertDeliveryError as exc:
            _record(report, entry.id, entry.channel, str(exc))
            if exc.permanent:
                outbox.mark_failed(db, entry.id, token, str(exc))
                report.failed += 1
            else:
                next_at = now + backoff(entry.attempts + 1, settings, exc.delay_asked(now))
                outbox.schedule_retry(db, entry.id, token, next_at, str(exc))
                down[entry.channel] = next_at
                report.retrying += 1
        except Exception as exc:  # one malformed alert must not stop the others; it stays visible as failed
            reason = f"could not send: {type(exc).__name__}: {exc}"
            _record(report, entry.id, entry.channel, reason)
            outbox.mark_failed(db, entry.id, token, reason)
            report.failed += 1
        else:
            outbox.mark_delivered(db, entry.id, token, now)
            report.delivered += 1
    return report


def _record(report: DeliveryReport, alert_id: int, channel: str, reason: str) -> None:
    line = f"alert {alert_id} via {channel}: {reason}"
    report.errors.append(line)
    log.warning(line)
