"""What a `moderate` run tells Prefect: a summary artifact for the UI, one event per flagged post.

Events are named `moderation.post.flagged`, with resource id `moderation.post.<source>.<post_id>`, so a
Prefect Automation can react to them (README, "Alerts"). The builders are pure; `publish_run_summary`
and `emit_flagged_post_events` talk to Prefect and must run inside a flow or task.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from moderation.models import FlaggedItem
from moderation.pipeline import RunSummary

FLAGGED_POST_EVENT = "moderation.post.flagged"
SUMMARY_ARTIFACT_KEY = "moderation-run-summary"
FLAGGED_ARTIFACT_KEY = "moderation-flagged-comments"
EXCERPT = 120


@dataclass(frozen=True)
class PostEvent:
    event: str
    resource: dict[str, str]
    payload: dict[str, Any]


def summary_markdown(summary: RunSummary) -> str:
    """Counts only: comment text is hostile and stays out of Markdown (the table artifact shows it as text)."""
    lines = ["# Moderation run", "", "| | count |", "|---|---:|"]
    for name, counts in summary.sources.items():
        lines.append(
            f"| comments in from `{_md(name)}` | {counts.new} new, {counts.updated} edited, "
            f"{counts.unchanged} unchanged, {counts.rejected} rejected, {counts.repaired} fields repaired"
            + (f", {counts.closed_by_site} queue items closed on the site" if counts.closed_by_site else "")
            + " |"
        )
    lines += [
        f"| scored | {summary.scored} |",
        f"| flagged for review | {summary.flagged} |",
        f"| scoring failed (moderation failures list) | {summary.scoring_failed} |",
        f"| alerts written | {summary.alerts_written} |",
        f"| alerts sent | {summary.alerts.delivered} |",
        f"| alerts to retry | {summary.alerts.retrying} |",
        f"| alerts failed | {summary.alerts.failed} |",
    ]
    if summary.by_label:
        lines += ["", "## Flagged by label", "", "| label | comments |", "|---|---:|"]
        lines += [f"| {_md(label)} | {count} |" for label, count in sorted(summary.by_label.items())]
    if summary.alerts.errors:
        lines += ["", "## Alert delivery problems", ""]
        lines += [f"- {_md(error)}" for error in summary.alerts.errors[:20]]
    return "\n".join(lines) + "\n"


def flagged_table(summary: RunSummary) -> list[dict[str, Any]]:
    return [
        {
            "item": item.item_id,
            "source": item.source,
            "post": item.post_id,
            "comment": item.comment_id,
            "author": item.author,
            "reasons": ", ".join(f"{label} {value:.2f}" for label, value in sorted(item.reasons.items())),
            "attack_target": item.attack_target or "",
            "text": _excerpt(item.text),
        }
        for item in summary.flagged_items
    ]


def flagged_post_events(summary: RunSummary) -> list[PostEvent]:
    """One event per post with newly flagged comments in this run (comments without a post: none)."""
    by_post: dict[tuple[str, str], list[FlaggedItem]] = defaultdict(list)
    for item in summary.flagged_items:
        if item.post_id:
            by_post[(item.source, item.post_id)].append(item)
    events = []
    for (source, post_id), items in by_post.items():
        labels: dict[str, int] = defaultdict(int)
        for item in items:
            for label in item.reasons:
                labels[label] += 1
        events.append(
            PostEvent(
                event=FLAGGED_POST_EVENT,
                resource={
                    "prefect.resource.id": f"moderation.post.{source}.{post_id}",
                    "prefect.resource.name": f"{source}/{post_id}",
                    "moderation.source": source,
                    "moderation.post-id": post_id,
                },
                payload={
                    "flagged": len(items),
                    "attacks": sum(1 for item in items if "attack_on_commenter" in item.reasons),
                    "labels": dict(sorted(labels.items())),
                    "items": [item.item_id for item in items],
                    "comments": [item.comment_id for item in items],
                },
            )
        )
    return events


def publish_run_summary(summary: RunSummary) -> None:
    """A Markdown artifact (counts) and, when something was flagged, a table artifact (the comments)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(
        markdown=summary_markdown(summary),
        key=SUMMARY_ARTIFACT_KEY,
        description=f"scored {summary.scored}, flagged {summary.flagged}, alerts sent {summary.alerts.delivered}",
    )
    if summary.flagged_items:
        create_table_artifact(
            table=flagged_table(summary), key=FLAGGED_ARTIFACT_KEY, description="comments flagged in this run"
        )


def emit_flagged_post_events(summary: RunSummary) -> int:
    """Emit `moderation.post.flagged` for each flagged post; returns how many were emitted."""
    from prefect.events import emit_event

    emitted = 0
    for event in flagged_post_events(summary):
        if emit_event(event=event.event, resource=event.resource, payload=event.payload) is not None:
            emitted += 1
    return emitted


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
