"""`moderation train accurate` (registered in the `train` group): fine-tune the accurate model, write its report."""

from __future__ import annotations

from pathlib import Path

import click

from moderation.cli.options import data_dir_option, guard, report_options
from moderation.cli.terminal import echo


@click.command("accurate")
@data_dir_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write deltas.safetensors, model.json and reference.json (default: the package's model folder).",
)
@click.option("--per-family", type=int, default=1600, show_default=True, help="Training rows drawn from each file.")
@click.option("--max-length", type=int, default=64, show_default=True, help="Tokens per training text.")
@click.option("--epochs", type=int, default=1, show_default=True, help="Passes over the drawn rows.")
@click.option(
    "--max-minutes", type=float, default=15.0, show_default=True, help="Stop training after this long, done or not."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the row draw, batches and init.")
@click.option("--threads", type=int, default=0, show_default=True, help="Torch CPU threads (0: every available core).")
@click.option(
    "--dev-scores",
    "dev_scores_path",
    type=click.Path(dir_okay=False),
    default="reports/accurate-dev-scores.npz",
    show_default=True,
    help="Where to save the trained model's scores on the dev files (the report checks loading against them).",
)
@report_options("reports/accurate-model.md")
@click.option("--report-only", is_flag=True, help="Do not train: write the report for the model in --out.")
def accurate(
    data_dir: str | None,
    out_dir: str | None,
    per_family: int,
    max_length: int,
    epochs: int,
    max_minutes: float,
    seed: int,
    threads: int,
    dev_scores_path: str,
    report_path: str,
    no_report: bool,
    report_only: bool,
) -> None:
    """Fine-tune MiniLM with low-rank adapters and a multi-label head; ship only the deltas."""
    from moderation.scoring.accurate_artifact import DEFAULT_MODEL_DIR
    from moderation.training.accurate import DEFAULT_DATA_DIR, TrainOptions, train_accurate

    data = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    out = Path(out_dir) if out_dir else DEFAULT_MODEL_DIR
    if not report_only:
        options = TrainOptions(
            per_family=per_family,
            max_length=max_length,
            epochs=epochs,
            max_minutes=max_minutes,
            seed=seed,
            threads=threads,
        )
        guard(lambda: train_accurate(data, out, options, dev_scores_path=Path(dev_scores_path), progress=echo))
    if not no_report:
        from moderation.training.accurate_report import write_report

        guard(lambda: write_report(data, out, Path(dev_scores_path), Path(report_path), threads=threads, progress=echo))
        echo(f"wrote {report_path}")
