"""The `moderation` command: a thin click layer over the same functions the flows and web UI use.

Each group of commands lives in its own module and is registered here.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import click

from moderation.cli import actions, alerts, failures, labels, pipeline, purge, queue, serve, train, users, web
from moderation.cli.terminal import for_terminal
from moderation.errors import ModerationError
from moderation.failure_logging import DEBUG_VARIABLE, debugging


class ModerationCommands(click.Group):
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


cli.add_command(pipeline.run)
cli.add_command(pipeline.score)
cli.add_command(queue.queue)
cli.add_command(serve.serve)
cli.add_command(purge.purge)
cli.add_command(alerts.alerts)
cli.add_command(actions.actions)
cli.add_command(failures.failures)
cli.add_command(users.user)
cli.add_command(web.web)
cli.add_command(labels.export_labels)
cli.add_command(train.train)


def main() -> None:
    cli()
