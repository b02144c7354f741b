"""What an alert says, and how each channel's format says it. Pure: no I/O.

Comment text is hostile: each format escapes it so a quoted comment cannot mention @channel, add links
or break the layout.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from moderation.links import DEFAULT_QUEUE, ITEM, QUEUE, link
from moderation.models import OutboxEntry
from moderation.wording import describe_reasons, shorten

KIND_NAMES = {"severe": "Severe comment", "pile_on": "Pile-on", "backlog": "Review queue backlog"}


@dataclass(frozen=True)
class AlertComment:
    item_id: int
    comment_id: str
    author: str
    excerpt: str
    reasons: Mapping[str, float]
    attack_target: str | None
    link: str


@dataclass(frozen=True)
class Alert:
    """One alert as a channel sends it: what happened, on which post, the worst comments, a link."""

    id: int
    kind: str
    key: str
    title: str
    summary: str
    link: str
    source: str | None
    post_id: str | None
    post_title: str | None
    comments: tuple[AlertComment, ...]
    created_at: datetime
    facts: Mapping[str, Any]
    """The trigger's numbers (counts, thresholds, window), for the JSON webhook."""


def item_link(base_url: str, item_id: int) -> str:
    return link(ITEM, base_url, item_id=item_id)


def queue_link(base_url: str) -> str:
    return link(QUEUE, base_url, status=DEFAULT_QUEUE)


def dedupe_key(kind: str, subject: str, window_start: datetime) -> str:
    """kind:subject:window, hashed when the subject is too long for the column."""
    window = window_start.strftime("%Y-%m-%dT%H:%MZ")
    if len(subject) > 180:
        subject = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:40]
    return f"{kind}:{subject}:{window}"


# ---- from the outbox to an Alert ------------------------------------------------------------------


def alert_from_entry(entry: OutboxEntry, base_url: str) -> Alert:
    payload = entry.payload
    comments = tuple(
        AlertComment(
            item_id=int(c["item_id"]),
            comment_id=str(c["comment_id"]),
            author=str(c["author"]),
            excerpt=str(c["excerpt"]),
            reasons={str(k): float(v) for k, v in dict(c.get("reasons") or {}).items()},
            attack_target=c.get("attack_target"),
            link=item_link(base_url, int(c["item_id"])),
        )
        for c in payload.get("comments", [])
    )
    link = comments[0].link if comments else queue_link(base_url)
    return Alert(
        id=entry.id,
        kind=entry.kind,
        key=entry.dedupe_key,
        title=title(entry.kind, payload),
        summary=summary(entry.kind, payload),
        link=link,
        source=entry.source,
        post_id=entry.post_id,
        post_title=payload.get("post_title"),
        comments=comments,
        created_at=entry.created_at,
        facts={k: v for k, v in payload.items() if k not in ("comments", "post_title")},
    )


def title(kind: str, payload: Mapping[str, Any]) -> str:
    post = _post_name(payload)
    if kind == "severe":
        count = len(payload.get("comments", []))
        return f"Severe comment on {post}" if count <= 1 else f"{payload.get('count', count)} severe comments on {post}"
    if kind == "pile_on":
        return f"Pile-on on {post}"
    if kind == "backlog":
        return f"Review queue backlog: {payload.get('pending', 0)} pending"
    return KIND_NAMES.get(kind, kind)


def _why_severe(payload: Mapping[str, Any], conjunction: str) -> str:
    """Why the comments are severe: flagged for an urgent label, at or above an alert threshold, or both."""
    why = []
    if payload.get("flagged_for"):
        why.append(f"flagged for {', '.join(payload['flagged_for'])}")
    thresholds = ", ".join(f"{label} ≥ {value:g}" for label, value in sorted(payload.get("thresholds", {}).items()))
    if thresholds:
        why.append(f"at or above a severe threshold ({thresholds})")
    return f" {conjunction} ".join(why)


def summary(kind: str, payload: Mapping[str, Any]) -> str:
    window = payload.get("window_minutes")
    if kind == "severe":
        count = payload.get("count", len(payload.get("comments", [])))
        if count == 1:
            return f"A comment {_why_severe(payload, 'and')}."
        return f"{count} comments {_why_severe(payload, 'or')} within {window} minutes."
    if kind == "pile_on":
        limits = [
            f"{limit} {what}"
            for limit, what in ((payload.get("limit_flagged"), "flagged"), (payload.get("limit_attacks"), "attacks"))
            if limit
        ]
        return (
            f"{payload.get('flagged', 0)} flagged comments, {payload.get('attacks', 0)} of them attacks on "
            f"commenters, within {window} minutes (alert at {' or '.join(limits)})."
        )
    if kind == "backlog":
        parts = [f"{payload.get('pending', 0)} items wait for review"]
        if payload.get("max_pending"):
            parts[0] += f" (limit {payload['max_pending']})"
        if payload.get("oldest_minutes") is not None:
            age = _duration(float(payload["oldest_minutes"]))
            limit = f" (limit {_duration(float(payload['max_age_minutes']))})" if payload.get("max_age_minutes") else ""
            parts.append(f"the oldest has waited {age}{limit}")
        return "; ".join(parts) + "."
    return ""


def _post_name(payload: Mapping[str, Any]) -> str:
    title = payload.get("post_title")
    post_id = payload.get("post_id")
    if title:
        return f"“{shorten(str(title), 80)}”"
    if post_id:
        return f"post {post_id}"
    return "a comment without a post"


def _duration(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} h"
    return f"{minutes / (24 * 60):.0f} days"


# ---- formats --------------------------------------------------------------------------------------


def json_body(alert: Alert) -> dict[str, Any]:
    """The generic webhook's body: every field, raw (the receiver escapes)."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "key": alert.key,
        "title": alert.title,
        "summary": alert.summary,
        "link": alert.link,
        "source": alert.source,
        "post_id": alert.post_id,
        "post_title": alert.post_title,
        "created_at": alert.created_at.isoformat(),
        "facts": dict(alert.facts),
        "comments": [
            {
                "item_id": c.item_id,
                "comment_id": c.comment_id,
                "author": c.author,
                "excerpt": c.excerpt,
                "reasons": dict(c.reasons),
                "attack_target": c.attack_target,
                "link": c.link,
            }
            for c in alert.comments
        ],
    }


def slack_body(alert: Alert) -> dict[str, Any]:
    """Slack incoming webhook: `text` (notifications, fallback) plus Block Kit blocks."""
    esc = slack_escape
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(alert.title, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": esc(alert.summary)}},
    ]
    for c in alert.comments:
        line = f"*{esc(c.author)}* ({esc(describe_reasons(c.reasons, c.attack_target))}) <{c.link}|#{c.item_id}>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"{line}\n>{esc(c.excerpt)}"}})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open in review queue"}, "url": alert.link}
            ],
        }
    )
    return {"text": f"{esc(alert.title)}: {esc(alert.summary)} <{alert.link}|Open>", "blocks": blocks}


def mattermost_body(alert: Alert) -> dict[str, Any]:
    """Mattermost incoming webhook: Markdown `text`."""
    esc = markdown_escape
    lines = [f"#### {esc(alert.title)}", esc(alert.summary), ""]
    for c in alert.comments:
        lines.append(
            f"- **{esc(c.author)}** ({esc(describe_reasons(c.reasons, c.attack_target))}) [#{c.item_id}]({c.link})"
        )
        lines.append(f"  > {esc(c.excerpt)}")
    lines.append(f"\n[Open in review queue]({alert.link})")
    return {"text": "\n".join(lines)}


def teams_body(alert: Alert) -> dict[str, Any]:
    """Microsoft Teams (Workflows "post to a channel when a webhook request is received"): an Adaptive Card."""
    esc = markdown_escape
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": esc(alert.title), "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "TextBlock", "text": esc(alert.summary), "wrap": True},
    ]
    for c in alert.comments:
        body.append(
            {
                "type": "TextBlock",
                "text": f"**{esc(c.author)}** ({esc(describe_reasons(c.reasons, c.attack_target))}): {esc(c.excerpt)}",
                "wrap": True,
            }
        )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Open in review queue", "url": alert.link}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def text_body(alert: Alert) -> str:
    """Plain text, for email."""
    lines = [alert.title, "", alert.summary, ""]
    if alert.post_id:
        lines.append(f"Post: {alert.post_title or alert.post_id} ({alert.source}/{alert.post_id})")
        lines.append("")
    for c in alert.comments:
        lines.append(f"* {c.author} ({describe_reasons(c.reasons, c.attack_target)})")
        lines.append(f"  {c.excerpt}")
        lines.append(f"  {c.link}")
        lines.append("")
    lines.append(f"Open in review queue: {alert.link}")
    return "\n".join(lines) + "\n"


def email_message(alert: Alert, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """A plain-text mail whose Message-ID is fixed per alert, so a resend is recognisably the same mail."""
    message = EmailMessage()
    message["Subject"] = shorten(f"[moderation] {alert.title}", 200)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    domain = sender.rpartition("@")[2] or "moderation.invalid"
    digest = hashlib.sha256(alert.key.encode("utf-8")).hexdigest()[:16]
    message["Message-ID"] = f"<alert-{alert.id}-{digest}@{domain}>"
    message["X-Moderation-Alert"] = alert.key
    message.set_content(text_body(alert))
    return message


def slack_escape(text: str) -> str:
    """Slack's three control characters; this also defuses <!channel> and <url|label> in comments."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()#|<>~])")


def markdown_escape(text: str) -> str:
    """Backslash-escape Markdown and break @mentions (@channel, @all, @here) with a zero-width space."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("@", "@\u200b")
