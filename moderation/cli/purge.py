"""`moderation purge`: retention. Blank old comment text; keep what explains the decisions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from moderation.cli.options import config_option, guard
from moderation.cli.terminal import echo

AGE = re.compile(r"^\s*(\d+)\s*([dwh])\s*$")
UNITS = {"d": "days", "w": "weeks", "h": "hours"}


class Age(click.ParamType):
    name = "age"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = AGE.match(str(value))
        if match is None:
            self.fail(f"use a number and a unit, e.g. 90d (days), 12w (weeks) or 36h (hours); got {value!r}")
        return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@click.command()
@config_option
@click.option("--older-than", "age", type=Age(), required=True, help="Age of the comments to purge: 90d, 12w, 36h.")
def purge(config_path: str | None, age: timedelta) -> None:
    """Blank the text of comments older than --older-than (and the raw input of old rejected records).

    Content hashes, scores, queue items and the audit log are kept, and each purged comment records when.
    Comments still pending or escalated in the review queue keep their text until a moderator decides.
    """
    from moderation.config import load_settings
    from moderation.pipeline import purge as purge_text

    now = datetime.now(UTC)
    counts = guard(lambda: purge_text(load_settings(config_path).database.url, now - age, now))
    echo(
        f"purged the text of {counts.comments} comments and {counts.rejected_inputs} rejected inputs "
        f"older than {(now - age).date().isoformat()}"
    )
    if counts.kept_for_review:
        echo(f"kept {counts.kept_for_review} old comments still waiting for a moderator")
