"""`moderation train cascade` (registered in the `train` group): choose the cascade's bands for decisions."""

from __future__ import annotations

import os
from pathlib import Path

import click

from moderation.cli.options import config_option, data_dir_option, guard


@click.command("cascade")
@data_dir_option
@config_option
@click.option(
    "--miss",
    type=click.FloatRange(0.0, 1.0),
    default=0.005,
    show_default=True,
    help="Per label, the share of the accurate tier's flags the clearly-clean bound may leave unseen "
    "(0.005: 99.7% of its flags kept on held-out dev with --extra 0, escalating to accurate:int8 with its recheck; "
    "reports/cascade.md's trade-off).",
)
@click.option(
    "--extra",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Per label, the screen's flags that may stand without the accurate tier, as a share of its flags.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default="reports/cascade.md",
    show_default=True,
    help="Where to write the cascade report.",
)
@click.option(
    "--scores-cache",
    type=click.Path(dir_okay=False),
    default="reports/accurate-dev-scores.loaded.npz",
    show_default=True,
    help="The accurate tier's dev scores, reused while the model version is the same.",
)
@click.option(
    "--rows-per-file",
    type=int,
    default=0,
    show_default=True,
    help="Use a fixed random subsample of each dev file (0: every row); for a quick look on a slow machine.",
)
@click.option(
    "--fit-rows-per-file",
    type=click.IntRange(100),
    default=2000,
    show_default=True,
    help="Train rows of each file the screen is fitted to the accurate tier on.",
)
@click.option(
    "--fit-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where --write-config writes the screen's fit (default: scoring.cascade.screen_fit, else the package's).",
)
@click.option(
    "--write-config",
    is_flag=True,
    help="Write the chosen bands into the config file's [scoring.cascade.bands] and the screen's fit to --fit-out.",
)
def cascade(
    data_dir: str | None,
    config_path: str | None,
    miss: float,
    extra: float,
    report_path: str,
    scores_cache: str,
    rows_per_file: int,
    fit_rows_per_file: int,
    fit_out: str | None,
    write_config: bool,
) -> None:
    """Fit the screen to the accurate tier on train rows, choose the cascade's bands on half the dev rows for
    decisions like the accurate tier's; report on the other half."""
    from moderation.config import DEFAULT_CONFIG_PATH, load_settings
    from moderation.scoring.screen_fit import DEFAULT_FIT_PATH, write_fit
    from moderation.training.cascade_report import bands_toml, choose_cascade, write_bands
    from moderation.training.data import DEFAULT_DATA_DIR

    settings = guard(lambda: load_settings(config_path))
    data = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    result, fit = guard(
        lambda: choose_cascade(
            data,
            settings,
            Path(report_path),
            miss=miss,
            extra=extra,
            scores_cache=Path(scores_cache),
            rows_per_file=rows_per_file,
            fit_rows_per_file=fit_rows_per_file,
            progress=click.echo,
        )
    )
    agreement, comments = result.agreement["all"], result.comments
    click.echo(
        f"on the held-out half: {agreement.kept_share:.1%} of the accurate tier's flags kept, "
        f"{agreement.extra_share:.1%} extra ({comments.kept_share:.1%} and {comments.extra_share:.1%} of its flagged "
        f"comments), {result.escalated['natural']:.1%} of natural traffic escalated, "
        f"{result.rechecked['natural']:.1%} rechecked"
    )
    click.echo("\n".join(["[scoring.cascade.bands]", *bands_toml(result.bands)]))
    if result.recheck_bands:
        click.echo("\n".join(["[scoring.cascade.recheck_bands]", *bands_toml(result.recheck_bands)]))
    if write_config:
        target = Path(config_path or os.environ.get("MODERATION_CONFIG") or DEFAULT_CONFIG_PATH)
        guard(lambda: write_bands(target, result))
        click.echo(f"wrote the bands into {target}")
        if fit:
            configured = settings.scoring.cascade.screen_fit
            fit_path = Path(fit_out or configured or DEFAULT_FIT_PATH).expanduser()
            guard(lambda: write_fit(fit, fit_path))
            click.echo(f"wrote the screen's fit to {fit_path}")
            if fit_out and Path(fit_out).expanduser() != Path(configured or DEFAULT_FIT_PATH).expanduser():
                click.echo(f'set scoring.cascade.screen_fit = "{fit_out}" for the cascade to use it')
    click.echo(f"wrote {report_path}")
