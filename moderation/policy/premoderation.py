"""Pre-moderation: which of the pipeline's own decisions act on the site at once (pure; no I/O).

A flagged comment whose strongest reason reaches its source's `actions.hold_threshold` is held on the
site until a moderator decides. Sources whose actions go to a webhook or a file also hear of every
other flagged comment (`queue`), so a site that acts itself knows what waits for review. A comment the
pipeline rejected itself (a banned commenter's) is rejected on the site (`reject`).
"""

from __future__ import annotations

from collections.abc import Sequence

from moderation.config import SourceSettings
from moderation.models import DECISION_VERBS, Decision, QueueStatus, SitePlan

NOTIFIED_KINDS = ("webhook", "file")


def site_plan(sources: Sequence[SourceSettings]) -> SitePlan | None:
    """The pipeline's site actions for these sources; None when no source acts on its site."""
    acting = {source.name: source.actions for source in sources if source.actions is not None}
    if not acting:
        return None

    def plan(source: str, decision: Decision) -> str | None:
        actions = acting.get(source)
        if actions is not None and decision.status == QueueStatus.REJECTED:
            return DECISION_VERBS[QueueStatus.REJECTED]
        if actions is None or not decision.flagged:
            return None
        strongest = max(decision.reasons.values(), default=0.0)
        if actions.hold_threshold is not None and strongest >= actions.hold_threshold:
            return "hold"
        return "queue" if actions.kind in NOTIFIED_KINDS else None

    return plan
