"""Which alerts newly queued comments cause, and whether the queue is backed up. Pure: no I/O.

- severe:  a new queue item flagged for an urgent label (`policy.urgent_labels`: threat, severe_toxicity), or
           with a score at or above `alerts.severe.thresholds`
- pile_on: a post whose thread has `alerts.pile_on.flagged` flagged comments, or `alerts.pile_on.attacks`
           attacks on commenters, within `window_minutes` (counted up to each new comment's time)
- backlog: more than `max_pending` pending items, or the oldest older than `max_age_minutes`

Each alert has a dedupe key (kind, post, window start): the outbox keeps one alert per key and channel,
so a post gets one alert per window, however many comments cross the line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from moderation.alerts.messages import dedupe_key
from moderation.config import AlertsSettings
from moderation.models import ATTACK_ON_COMMENTER, AlertDraft, AlertRule, FlaggedItem
from moderation.wording import shorten


def queue_alert_rule(settings: AlertsSettings, urgent_labels: Collection[str] = ()) -> AlertRule | None:
    """The rule that store.save_results applies to new queue items; None when no channel wants them."""
    if not (settings.channels_for("severe") or settings.channels_for("pile_on")):
        return None
    return partial(alerts_for_new_items, settings=settings, urgent_labels=urgent_labels)


def alerts_for_new_items(
    new: Sequence[FlaggedItem],
    thread: Sequence[FlaggedItem],
    settings: AlertsSettings,
    urgent_labels: Collection[str] = (),
) -> list[AlertDraft]:
    return [*severe_alerts(new, settings, urgent_labels), *pile_on_alerts(new, thread, settings)]


def severe_alerts(
    new: Sequence[FlaggedItem], settings: AlertsSettings, urgent_labels: Collection[str] = ()
) -> list[AlertDraft]:
    channels = settings.channels_for("severe")
    thresholds = settings.severe.thresholds
    if not channels or not (thresholds or urgent_labels):
        return []
    groups: dict[tuple[str, datetime], list[FlaggedItem]] = defaultdict(list)
    crossed: dict[tuple[str, datetime], dict[str, float]] = defaultdict(dict)
    urgent: dict[tuple[str, datetime], set[str]] = defaultdict(set)
    for item in new:
        over = {label: limit for label, limit in thresholds.items() if item.scores.get(label, 0.0) >= limit}
        flagged_for = {label for label in item.reasons if label in urgent_labels}
        if over or flagged_for:
            group = (_subject(item), window_start(item.at, settings.severe.window_minutes))
            groups[group].append(item)
            crossed[group].update(over)
            urgent[group].update(flagged_for)
    drafts = []
    for (subject, start), items in groups.items():
        payload = _post_payload(items[0]) | {
            "count": len(items),
            "flagged_for": sorted(urgent[(subject, start)]),
            "thresholds": dict(sorted(crossed[(subject, start)].items())),
            "window_minutes": settings.severe.window_minutes,
            "comments": _worst(items, settings),
        }
        drafts.append(_draft("severe", subject, start, channels, items[0], payload))
    return drafts


def pile_on_alerts(
    new: Sequence[FlaggedItem], thread: Sequence[FlaggedItem], settings: AlertsSettings
) -> list[AlertDraft]:
    rules = settings.pile_on
    channels = settings.channels_for("pile_on")
    if not channels or not (rules.flagged or rules.attacks):
        return []
    window = timedelta(minutes=rules.window_minutes)
    by_post: dict[tuple[str, str], list[FlaggedItem]] = defaultdict(list)
    for item in thread:
        if item.post_id is not None:
            by_post[(item.source, item.post_id)].append(item)
    found: dict[tuple[str, datetime], list[FlaggedItem]] = {}
    for item in sorted(new, key=lambda i: i.at):
        if item.post_id is None:
            continue
        in_window = [i for i in by_post[(item.source, item.post_id)] if item.at - window < i.at <= item.at]
        attacks = sum(1 for i in in_window if _is_attack(i))
        if (rules.flagged and len(in_window) >= rules.flagged) or (rules.attacks and attacks >= rules.attacks):
            group = (_subject(item), window_start(item.at, rules.window_minutes))
            if len(in_window) > len(found.get(group, [])):
                found[group] = in_window
    drafts = []
    for (subject, start), items in found.items():
        payload = _post_payload(items[0]) | {
            "flagged": len(items),
            "attacks": sum(1 for i in items if _is_attack(i)),
            "limit_flagged": rules.flagged or None,
            "limit_attacks": rules.attacks or None,
            "window_minutes": rules.window_minutes,
            "comments": _worst(items, settings),
        }
        drafts.append(_draft("pile_on", subject, start, channels, items[0], payload))
    return drafts


def backlog_alert(pending: int, oldest: datetime | None, settings: AlertsSettings, now: datetime) -> AlertDraft | None:
    """An alert when the review queue is too long or its oldest pending item too old; else None."""
    rules = settings.backlog
    channels = settings.channels_for("backlog")
    if not channels:
        return None
    age_minutes = (now - oldest).total_seconds() / 60 if oldest is not None else None
    too_many = bool(rules.max_pending) and pending > rules.max_pending
    too_old = bool(rules.max_age_minutes) and age_minutes is not None and age_minutes > rules.max_age_minutes
    if not (too_many or too_old):
        return None
    start = window_start(now, rules.window_minutes)
    payload: dict[str, Any] = {
        "pending": pending,
        "oldest_minutes": round(age_minutes, 1) if age_minutes is not None else None,
        "max_pending": rules.max_pending or None,
        "max_age_minutes": rules.max_age_minutes or None,
        "window_minutes": rules.window_minutes,
        "comments": [],
    }
    return AlertDraft("backlog", dedupe_key("backlog", "queue", start), start, channels, payload)


def window_start(at: datetime, minutes: int) -> datetime:
    """Start of the fixed window of `minutes` (counted from the Unix epoch, UTC) that holds `at`."""
    seconds = minutes * 60
    stamp = at.timestamp()
    return datetime.fromtimestamp(stamp - stamp % seconds, tz=UTC)


def _subject(item: FlaggedItem) -> str:
    if item.post_id is not None:
        return f"{item.source}/{item.post_id}"
    return f"{item.source}/comment/{item.comment_id}"


def _is_attack(item: FlaggedItem) -> bool:
    return ATTACK_ON_COMMENTER in item.reasons


def _post_payload(item: FlaggedItem) -> dict[str, Any]:
    return {"source": item.source, "post_id": item.post_id, "post_title": item.post_title}


def _worst(items: Sequence[FlaggedItem], settings: AlertsSettings) -> list[dict[str, Any]]:
    ranked = sorted(items, key=lambda i: (-i.priority, i.item_id))[: settings.max_comments]
    return [
        {
            "item_id": item.item_id,
            "comment_id": item.comment_id,
            "author": item.author,
            "excerpt": shorten(item.text, settings.quote_length),
            "reasons": _rounded(item.reasons),
            "attack_target": item.attack_target,
            "priority": round(item.priority, 3),
            "at": item.at.isoformat(),
        }
        for item in ranked
    ]


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {label: round(value, 3) for label, value in values.items()}


def _draft(
    kind: str, subject: str, start: datetime, channels: tuple[str, ...], item: FlaggedItem, payload: dict[str, Any]
) -> AlertDraft:
    return AlertDraft(
        kind=kind,
        key=dedupe_key(kind, subject, start),
        window_start=start,
        channels=channels,
        payload=payload,
        source=item.source,
        post_id=item.post_id,
    )
