import click

from moderation.cli import cli
from tests.conftest import PROJECT_ROOT


def test_every_command_is_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = [name for name in _command_names(cli) if f"moderation {name}" not in readme]
    assert missing == []


def _command_names(group, prefix=""):  # type: ignore[no-untyped-def]
    # Through list_commands/get_command: the top-level group imports its commands on first use.
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if hasattr(command, "commands"):
            yield from _command_names(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"
