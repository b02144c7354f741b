"""`moderation train fast`: rebuild the fast scorer from the labelled data, and its report."""

from __future__ import annotations

from pathlib import Path

import click

from moderation.cli.options import data_dir_option, guard, report_options
from moderation.cli.terminal import echo
from moderation.cli.train_accurate import accurate
from moderation.cli.train_cascade import cascade


@click.group()
def train() -> None:
    """Rebuild the project's own models from the labelled data."""


@train.command("fast")
@data_dir_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write model.npz and model.json (default: the model folder inside the package).",
)
@report_options("reports/fast-model.md")
def fast(data_dir: str | None, out_dir: str | None, report_path: str, no_report: bool) -> None:
    """Train the fast scorer deterministically from the train files; calibrate it on the dev files."""
    from moderation.scoring.fast_model import DEFAULT_MODEL_DIR
    from moderation.training.data import DEFAULT_DATA_DIR
    from moderation.training.fast import train_fast

    data = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    out = Path(out_dir) if out_dir else DEFAULT_MODEL_DIR
    _, thresholds = guard(lambda: train_fast(data, out, progress=echo))
    for threshold in thresholds:
        echo(
            f"threshold {threshold.label} = {threshold.value:.2f}: dev precision {threshold.precision:.3f}, "
            f"recall {threshold.recall:.3f} ({threshold.found} of {threshold.positives})"
        )
    if not no_report:
        from moderation.training.report import write_report

        guard(lambda: write_report(data, out, Path(report_path), progress=echo))
        echo(f"wrote {report_path}")


train.add_command(accurate)
train.add_command(cascade)
