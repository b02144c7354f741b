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
    default=0.01,
    show_default=True,
    help="Per label, the share of the accurate tier's flags the clearly-clean bound may leave unseen "
    "(0.01: 99.7% of its flags kept on held-out dev, reports/cascade.md's trade-off).",
)
@click.option(
    "--extra",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Per label, the screen's flags that may stand without the accurate tier, as a share of its flags "
    "(0: on held-out dev it escalates about as much as 0.01 or 0.02 and adds fewer extra flags).",
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
    "--write-config", is_flag=True, help="Write the chosen bands into the config file's [scoring.cascade.bands]."
)
def cascade(
    data_dir: str | None,
    config_path: str | None,
    miss: float,
    extra: float,
    report_path: str,
    scores_cache: str,
    rows_per_file: int,
    write_config: bool,
) -> None:
    """Choose the cascade's bands on half the dev rows for decisions like the accurate tier's; report on the rest."""
    from moderation.config import DEFAULT_CONFIG_PATH, load_settings
    from moderation.training.cascade_report import bands_toml, choose_cascade, write_bands
    from moderation.training.data import DEFAULT_DATA_DIR

    settings = guard(lambda: load_settings(config_path))
    data = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    result = guard(
        lambda: choose_cascade(
            data,
            settings,
            Path(report_path),
            miss=miss,
            extra=extra,
            scores_cache=Path(scores_cache),
            rows_per_file=rows_per_file,
            progress=click.echo,
        )
    )
    agreement = result.agreement["all"]
    click.echo(
        f"on the held-out half: {agreement.kept_share:.1%} of the accurate tier's flags kept, "
        f"{agreement.extra_share:.1%} extra, {result.escalated['natural']:.1%} of natural traffic escalated"
    )
    click.echo("\n".join(["[scoring.cascade.bands]", *bands_toml(result)]))
    if write_config:
        target = Path(config_path or os.environ.get("MODERATION_CONFIG") or DEFAULT_CONFIG_PATH)
        guard(lambda: write_bands(target, result))
        click.echo(f"wrote the bands into {target}")
    click.echo(f"wrote {report_path}")
