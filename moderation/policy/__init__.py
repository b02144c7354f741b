"""Policy: pure functions from a comment and its scores to a decision (flag for review or pass)."""

from moderation.policy.phases import PHASES, PhaseResult, PolicyContext, decide, run_phases

__all__ = ["PHASES", "PhaseResult", "PolicyContext", "decide", "run_phases"]
