"""Options and helpers shared by every command: a flag means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from moderation.errors import ModerationError

T = TypeVar("T")


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML config file (default: $MODERATION_CONFIG or config/moderation.toml).",
    )(func)


def format_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output for people (text) or scripts (json).",
    )(func)


def guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except ModerationError as exc:
        raise click.ClickException(str(exc)) from exc


def describe_reasons(item: dict[str, Any]) -> str:
    parts = [f"{label} {value:.2f}" for label, value in sorted(item["reasons"].items(), key=lambda kv: -kv[1])]
    if item.get("attack_target"):
        parts.append(f"attack on {item['attack_target']}")
    return ", ".join(parts)


def shorten(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
