"""The `moderation` command: a thin click layer over the same functions the flows and web UI use.

Each group of commands lives in its own module, registered here by name and imported only when that
command runs: `moderation score` never loads the database, Prefect or alert code it does not use.
"""

from __future__ import annotations

import importlib

import click

# Command name -> "module:attribute" of its click command.
COMMANDS = {
    "run": "moderation.cli.pipeline:run",
    "score": "moderation.cli.pipeline:score",
    "queue": "moderation.cli.queue:queue",
    "serve": "moderation.cli.serve:serve",
    "purge": "moderation.cli.purge:purge",
    "alerts": "moderation.cli.alerts:alerts",
    "actions": "moderation.cli.actions:actions",
    "user": "moderation.cli.users:user",
    "web": "moderation.cli.web:web",
    "export-labels": "moderation.cli.labels:export_labels",
    "train": "moderation.cli.train:train",
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


@click.group(cls=LazyGroup)
@click.version_option(package_name="comment-moderation")
def cli() -> None:
    """Self-hosted comment moderation: score comments, queue attacks and toxicity for moderators."""


def main() -> None:
    cli()
