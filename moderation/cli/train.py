"""`moderation train fast`: rebuild the fast scorer from the labelled data, and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from moderation.cli.options import config_option, configured_database, data_dir_option, guard, report_options
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
@click.option(
    "--decisions",
    "decisions_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also learn from moderators' decisions (a `moderation export-labels` file); needs --out.",
)
@click.option(
    "--unflagged",
    type=click.IntRange(0),
    default=None,
    help="With --decisions: how many unflagged comments from the database join as presumed negatives "
    "(default: as many as there are decisions).",
)
@config_option
def fast(
    data_dir: str | None,
    out_dir: str | None,
    report_path: str,
    no_report: bool,
    decisions_path: str | None,
    unflagged: int | None,
    config_path: str | None,
) -> None:
    """Train the fast scorer deterministically from the train files; calibrate it on the dev files."""
    from moderation.scoring.fast_model import DEFAULT_MODEL_DIR
    from moderation.training.data import DEFAULT_DATA_DIR
    from moderation.training.fast import train_fast

    data = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    out = Path(out_dir) if out_dir else DEFAULT_MODEL_DIR
    extra = None
    if decisions_path is not None:
        if out.resolve() == DEFAULT_MODEL_DIR.resolve():
            raise click.UsageError("--decisions needs --out: the shipped model is trained from the labelled data alone")
        extra = _decisions(Path(decisions_path), unflagged, config_path)
    _, thresholds = guard(lambda: train_fast(data, out, progress=echo, extra=extra))
    for threshold in thresholds:
        echo(
            f"threshold {threshold.label} = {threshold.value:.2f}: dev precision {threshold.precision:.3f}, "
            f"recall {threshold.recall:.3f} ({threshold.found} of {threshold.positives})"
        )
    if not no_report:
        from moderation.training.report import write_report

        guard(lambda: write_report(data, out, Path(report_path), progress=echo))
        echo(f"wrote {report_path}")


def _decisions(path: Path, unflagged: int | None, config_path: str | None) -> Any:
    """The decisions file and a sample of unflagged comments from the configured database, as one table."""
    from moderation.review.export import sample_unflagged
    from moderation.training.data import LABELS
    from moderation.training.decisions import decisions_table, provenance, read_decisions
    from moderation.training.fast import ExtraTraining, TrainSettings

    found = guard(lambda: read_decisions(path))
    for problem in found.skipped[:20]:
        echo(f"skipped {problem}", err=True)
    wanted = len(found.records) if unflagged is None else unflagged
    negatives: list[str] = []
    if wanted:
        db, _ = configured_database(config_path)
        negatives = guard(lambda: sample_unflagged(db, wanted))
    outputs = [*LABELS, *TrainSettings().auxiliary_sources]
    echo(f"adding {len(found.records)} decisions and {len(negatives)} unflagged comments (presumed negatives)")
    table = decisions_table(found.records, negatives, outputs)
    return ExtraTraining(table, provenance(found.records, len(negatives), len(found.skipped)))


train.add_command(accurate)
train.add_command(cascade)
