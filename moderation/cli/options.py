"""Options and helpers shared by every command: a flag means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from moderation.cli.terminal import echo
from moderation.errors import ModerationError

if TYPE_CHECKING:
    from moderation.config import Settings
    from moderation.storage.engine import Database

T = TypeVar("T")


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML config file (default: $MODERATION_CONFIG or config/moderation.toml).",
    )(func)


def output_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--output",
        "output_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write JSON lines here instead of standard output.",
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


def actor_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--as",
        "actor",
        envvar="MODERATION_ACTOR",
        required=True,
        metavar="USER",
        help="The moderator acting (an account from `moderation user add`; default $MODERATION_ACTOR).",
    )(func)


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for name, help_text in reversed(
        [
            ("--label", "Only items flagged for this label (e.g. insult, attack_on_commenter)."),
            ("--post", "Only comments on this post id."),
            ("--author", "Only comments by this author."),
        ]
    ):
        func = click.option(name, default=None, help=help_text)(func)
    return func


def guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except ModerationError as exc:
        raise click.ClickException(str(exc)) from exc


def configured_database(config_path: str | None) -> tuple[Database, Settings]:
    """The settings from `--config` and their database (migrated, shared in this process): how every command
    that reads or writes the database opens it."""
    from moderation.config import load_settings
    from moderation.storage.engine import database

    settings = guard(lambda: load_settings(config_path))
    return guard(lambda: database(settings.database.url)), settings


def warn_about_unused_label_settings(config_path: str | None, scorer_name: str | None = None) -> None:
    """Print a warning for each threshold, weight or urgent label of a label the scorer never produces."""
    from moderation.config import chosen_config_path, load_settings
    from moderation.policy.unused_labels import unused_label_settings
    from moderation.scoring.base import load_scorer

    try:
        settings = load_settings(config_path)
        name = scorer_name or settings.scoring.scorer
        labels = load_scorer(name, settings.scoring).labels
    except ModerationError:
        return  # the command itself reports a config or scorer that does not load
    path = chosen_config_path(config_path)
    location = str(path) if path.exists() else "built-in defaults"
    for warning in unused_label_settings(settings, name, labels, location):
        echo(f"Warning: {warning}", err=True)


def data_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder of the labelled CSV files (default: ../shared/data beside the project).",
    )(func)


def report_options(default_path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--report PATH` and `--no-report`, for the training commands."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option("--no-report", is_flag=True, help="Train only; skip the evaluation report.")(func)
        return click.option(
            "--report",
            "report_path",
            type=click.Path(dir_okay=False),
            default=default_path,
            show_default=True,
            help="Where to write the evaluation report.",
        )(func)

    return decorate
