"""Which policy settings apply to a source's comments: `[policy]` with the source's `[sources.policy]` over it.

Pure: the pipeline works out each source's effective settings once, and `decide` receives them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from moderation.config import PolicySettings, SourcePolicySettings, SourceSettings


def effective_policy(policy: PolicySettings, own: SourcePolicySettings | None) -> PolicySettings:
    """`policy` with a source's own settings applied: its thresholds replace those of the labels it names, its
    trusted authors and blocked words are added."""
    if own is None:
        return policy
    return policy.model_copy(
        update={
            "thresholds": {**policy.thresholds, **own.thresholds},
            "trusted_authors": _merged(policy.trusted_authors, own.trusted_authors),
            "blocked_words": _merged(policy.blocked_words, own.blocked_words),
        }
    )


def policies_by_source(policy: PolicySettings, sources: Sequence[SourceSettings]) -> dict[str, PolicySettings]:
    """The effective settings of each source that has its own (`policy_for` falls back to `policy`)."""
    return {source.name: effective_policy(policy, source.policy) for source in sources if source.policy is not None}


def policy_for(source: str, policy: PolicySettings, by_source: Mapping[str, PolicySettings]) -> PolicySettings:
    return by_source.get(source, policy)


def _merged(first: Sequence[str], more: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *more]))
