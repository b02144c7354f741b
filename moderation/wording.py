"""How a queue item reads in one line of text, for the CLI and the alerts (pure; no I/O)."""

from __future__ import annotations

from collections.abc import Mapping


def shorten(text: str, width: int = 100) -> str:
    """The text on one line, cut to `width` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def describe_reasons(reasons: Mapping[str, float], attack_target: str | None = None) -> str:
    parts = [f"{label} {value:.2f}" for label, value in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
    if attack_target:
        parts.append(f"attack on {attack_target}")
    return ", ".join(parts)
