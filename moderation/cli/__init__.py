"""The `moderation` command: a thin click layer over the same functions the flows and web UI use.

Each group of commands lives in its own module, registered here by name and imported only when that
command runs: `moderation score` never loads the database, Prefect or alert code it does not use.
"""

from __future__ import annotations

import importlib
import os
import traceback
from typing import Any

import click

from moderation.cli.terminal import for_terminal
from moderation.errors import ModerationError
from moderation.failure_logging import DEBUG_VARIABLE, debugging

# Command name -> "module:attribute" of its click command.
COMMANDS = {
    "run": "moderation.cli.pipeline:run",
    "score": "moderation.cli.pipeline:score",
    "queue": "moderation.cli.queue:queue",
    "serve": "moderation.cli.serve:serve",
    "purge": "moderation.cli.purge:purge",
    "alerts": "moderation.cli.alerts:alerts",
    "actions": "moderation.cli.actions:actions",
    "failures": "moderation.cli.failures:failures",
    "user": "moderation.cli.users:user",
    "commenter": "moderation.cli.commenters:commenter",
    "web": "moderation.cli.web:web",
    "api": "moderation.cli.api:api",
    "api-key": "moderation.cli.api:api_key",
    "export-labels": "moderation.cli.labels:export_labels",
    "train": "moderation.cli.train:train",
    "stats": "moderation.cli.stats:stats",
    "tune": "moderation.cli.stats:tune",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
        return command


class ModerationCommands(LazyGroup):
    """An expected failure is one `Error:` line (never a traceback, never raw control characters);
    with --debug its traceback comes first."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError:
            raise  # click shows the usage; the message is the user's own input
        except (ModerationError, click.ClickException) as exc:
            cause = exc if isinstance(exc, ModerationError) else exc.__cause__
            if debugging() and cause is not None:
                traceback.print_exception(cause)
            message = exc.message if isinstance(exc, click.ClickException) else str(exc)
            raise click.ClickException(for_terminal(message)) from cause


@click.group(cls=ModerationCommands)
@click.version_option(package_name="comment-moderation")
@click.option("--debug", is_flag=True, help="Show the traceback of an error, here and in Prefect's logs.")
def cli(debug: bool) -> None:
    """Self-hosted comment moderation: score comments, queue attacks and toxicity for moderators."""
    if debug:
        os.environ[DEBUG_VARIABLE] = "1"  # flow runs started from here (and their subprocesses) see it too


def main() -> None:
    cli()
