"""The unused-label warning through `moderation run`: printed once by the CLI, however many batches the flow runs."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.cli import cli
from tests.conftest import write_config


@pytest.mark.usefixtures("prefect_harness")
def test_run_warns_once_however_many_batches_and_runs_anyway(seed_project: Path, sqlite_url: str) -> None:
    config = write_config(
        seed_project / "c.toml",
        sqlite_url,
        '[scoring]\nscorer = "lexicon"\nbatch_size = 4\n[policy]\nurgent_labels = []\n',
    )
    result = CliRunner().invoke(cli, ["run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("Warning")] == [
        f'Warning: {config}: policy.thresholds.severe_toxicity: scorer "lexicon" never produces "severe_toxicity"; '
        "this threshold does nothing",
        f'Warning: {config}: policy.severity.severe_toxicity: scorer "lexicon" never produces "severe_toxicity"; '
        "this severity weight does nothing",
    ]
    assert "scored 11 comments, flagged 2 for review" in result.stdout
