"""Settings that name a label the configured scorer never produces: they do nothing, so the CLI warns.

A threshold, severity weight or urgent label for `threat` under a scorer without a `threat` score never fires;
the operator should learn that at start, not when a threat goes unnoticed. A warning, not an error: the same
config stays valid for a scorer that has the label.
"""

from __future__ import annotations

from collections.abc import Iterable

from moderation.config import Settings
from moderation.models import POLICY_REASONS


def unused_label_settings(
    settings: Settings, scorer_name: str, scorer_labels: Iterable[str], location: str
) -> list[str]:
    """One message per setting whose label `scorer_labels` (and the policy's own reasons) lack."""
    produced = {*scorer_labels, *POLICY_REASONS}
    policy = settings.policy
    named = [
        *((f"policy.thresholds.{label}", label, "threshold") for label in policy.thresholds),
        *((f"policy.severity.{label}", label, "severity weight") for label in policy.severity),
        *(("policy.urgent_labels", label, "urgent label") for label in policy.urgent_labels),
        *(
            (f"sources.{source.name}.policy.thresholds.{label}", label, "threshold")
            for source in settings.sources
            if source.policy is not None
            for label in source.policy.thresholds
        ),
    ]
    if settings.alerts.channels_for("severe"):  # alert thresholds do nothing anyway while no channel wants them
        alerting = settings.alerts.severe.thresholds
        named += [(f"alerts.severe.thresholds.{label}", label, "threshold") for label in alerting]
    return [
        f'{location}: {key}: scorer "{scorer_name}" never produces "{label}"; this {what} does nothing'
        for key, label, what in named
        if label not in produced
    ]
