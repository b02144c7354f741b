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
@click.option(
    "--checkpoint-dir",
    type=click.Path(file_okay=False),
    default="~/.cache/comment-moderation/train-accurate",
    show_default=True,
    help="Where the checkpoint (adapters, head, optimizer, scheduler, RNG, data position) and curve.json live.",
)
@click.option("--resume", is_flag=True, help="Continue from the checkpoint (its data and training options win).")
@click.option(
    "--init-from",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Start a new run from an exported model folder (its weights, curve and examples seen), new optimizer.",
)
@click.option("--export", "export_only", is_flag=True, help="Do not train: write the artifact from the checkpoint.")
@click.option("--per-family", type=int, default=0, show_default=True, help="Rows drawn per train file (0: all).")
@click.option("--max-length", type=int, default=128, show_default=True, help="Tokens per training text.")
@click.option("--epochs", type=int, default=3, show_default=True, help="Passes over the training rows.")
@click.option("--batch-size", type=int, default=32, show_default=True, help="Training rows per step.")
@click.option("--learning-rate", type=float, default=1e-3, show_default=True, help="Peak AdamW learning rate.")
@click.option("--warmup-steps", type=int, default=300, show_default=True, help="Steps of linear warmup to the peak.")
@click.option(
    "--identity-balance/--no-identity-balance",
    default=False,
    show_default=True,
    help="Add counterfactual copies so no identity term is seen mostly in toxic rows (training/identity_balance.py).",
)
@click.option(
    "--counterfactual-weight",
    type=float,
    default=0.0,
    show_default=True,
    help="Weight of counterfactual logit pairing: a row and the row with an identity term swapped score alike.",
)
@click.option(
    "--unpaired-output",
    "unpaired_outputs",
    multiple=True,
    help="An output left out of counterfactual pairing (repeatable), e.g. identity_attack.",
)
@click.option(
    "--positive-twins",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Add each positive row that names a group N times more, an identity term swapped, its labels kept.",
)
@click.option(
    "--pair-positives/--no-pair-positives",
    default=True,
    show_default=True,
    help="Pair rows with a positive label too, not only rows whose every label is negative.",
)
@click.option("--curve-every", type=int, default=10_000, show_default=True, help="Examples between curve points.")
@click.option(
    "--max-minutes", type=float, default=15.0, show_default=True, help="End this sitting after this long (resumable)."
)
@click.option(
    "--max-steps", type=int, default=0, show_default=True, help="End this sitting after N steps (0: no limit)."
)
@click.option("--checkpoint-minutes", type=float, default=5.0, show_default=True, help="Minutes between checkpoints.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the row draw, batches and init.")
@click.option("--threads", type=int, default=0, show_default=True, help="Torch CPU threads (0: every idle core).")
@click.option("--device", default="cpu", show_default=True, help="Torch device to train on (cpu, cuda).")
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
@click.option(
    "--calibrate-only",
    is_flag=True,
    help="Do not train: fit the per-label calibration of the model in --out on the dev files (training does it too).",
)
@click.option(
    "--no-blend",
    is_flag=True,
    help="Calibrate the MiniLM alone, without blending in the fast model's logit (training/accurate_calibration.py).",
)
@click.option(
    "--curve-report",
    is_flag=True,
    help="Write the report from the curve recorded in model.json only (no scoring of the whole dev files).",
)
def accurate(
    data_dir: str | None,
    out_dir: str | None,
    checkpoint_dir: str,
    resume: bool,
    init_from: str | None,
    export_only: bool,
    per_family: int,
    max_length: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    warmup_steps: int,
    identity_balance: bool,
    counterfactual_weight: float,
    unpaired_outputs: tuple[str, ...],
    positive_twins: int,
    pair_positives: bool,
    curve_every: int,
    max_minutes: float,
    max_steps: int,
    checkpoint_minutes: float,
    seed: int,
    threads: int,
    device: str,
    dev_scores_path: str,
    report_path: str,
    no_report: bool,
    report_only: bool,
    calibrate_only: bool,
    no_blend: bool,
    curve_report: bool,
) -> None:
    """Fine-tune MiniLM with low-rank adapters and a multi-output head, resumably; ship only the deltas."""
    from moderation.scoring.accurate_artifact import DEFAULT_MODEL_DIR
    from moderation.training.accurate import (
        DEFAULT_DATA_DIR,
        OUTPUTS,
        TrainOptions,
        export_checkpoint,
        train_accurate,
    )

    unknown = sorted(set(unpaired_outputs) - set(OUTPUTS))
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)}: use one of {', '.join(OUTPUTS)}", param_hint="--unpaired-output"
        )

    data = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    out = Path(out_dir) if out_dir else DEFAULT_MODEL_DIR
    checkpoints = Path(checkpoint_dir)
    dev_scores = None if no_report or curve_report else Path(dev_scores_path)
    options = TrainOptions(
        per_family=per_family,
        max_length=max_length,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        identity_balance=identity_balance,
        counterfactual_weight=counterfactual_weight,
        unpaired_outputs=unpaired_outputs,
        positive_twins=positive_twins,
        pair_positives=pair_positives,
        curve_every=curve_every,
        max_minutes=max_minutes,
        max_steps=max_steps,
        checkpoint_minutes=checkpoint_minutes,
        seed=seed,
        init_from=init_from or "",
        threads=threads,
        device=device,
    )
    if export_only:
        guard(
            lambda: export_checkpoint(
                data, out, checkpoints, options=options, dev_scores_path=dev_scores, progress=echo
            )
        )
    elif not (report_only or calibrate_only):
        guard(
            lambda: train_accurate(
                data,
                out,
                options,
                checkpoint_dir=checkpoints,
                resume=resume,
                dev_scores_path=dev_scores,
                progress=echo,
            )
        )
    if not report_only:
        from moderation.training.accurate_calibration import calibrate_accurate

        guard(lambda: calibrate_accurate(data, out, progress=echo, blend=not no_blend))
    if calibrate_only:
        return
    if curve_report:
        from moderation.training.accurate_report import write_curve_report

        guard(lambda: write_curve_report(data, out, Path(report_path)))
        echo(f"wrote {report_path}")
    elif not no_report:
        from moderation.training.accurate_report import write_report

        guard(lambda: write_report(data, out, Path(dev_scores_path), Path(report_path), threads=threads, progress=echo))
        echo(f"wrote {report_path}")
