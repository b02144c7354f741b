"""The `moderation` command: a thin click layer over the same functions the flows and web UI use.

Each group of commands lives in its own module and is registered here.
"""

from __future__ import annotations

import click

from moderation.cli import actions, alerts, failures, labels, pipeline, purge, queue, serve, train, users, web


@click.group()
@click.version_option(package_name="comment-moderation")
def cli() -> None:
    """Self-hosted comment moderation: score comments, queue attacks and toxicity for moderators."""


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
