"""`moderation score --scorer fast` and `moderation train fast` on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner

from moderation.cli import cli
from moderation.scoring.attack import ATTACK_VERSION
from moderation.scoring.fast_model import load_model

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SEED = PROJECT_ROOT / "examples" / "seed_thread.jsonl"


def test_score_with_fast_writes_scores_evidence_and_version(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    result = CliRunner().invoke(cli, ["score", "--input", str(SEED), "--output", str(out), "--scorer", "fast"])
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert len(records) == 11
    c6 = records["c6"]
    assert set(c6["scores"]) == {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}
    assert c6["scorer"] == f"fast/{load_model().version}+thread{ATTACK_VERSION}"
    assert c6["attack_target"] == "Slaven" and c6["flagged"]
    text = json.loads(SEED.read_text(encoding="utf-8").splitlines()[5])["text"]
    assert "idiot" in [text[start:end] for start, end in c6["evidence"]["insult"]]


def test_scoring_with_fast_imports_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "import sys; from moderation.cli import cli; "
        f"cli(['score', '--scorer', 'fast', '--input', {str(SEED)!r}, '--output', {str(tmp_path / 'o.jsonl')!r}], "
        "standalone_mode=False); "
        "print(sorted(m for m in ('torch', 'transformers', 'prefect', 'sklearn', 'scipy', 'detoxify') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_scoring_with_fast_imports_no_storage_prefect_or_alerts(tmp_path: Path) -> None:
    unused = ("sqlalchemy", "alembic", "prefect", "moderation.storage", "moderation.alerts", "moderation.pipeline")
    code = (
        "import sys; from moderation.cli import cli; "
        f"cli(['score', '--scorer', 'fast', '--input', {str(SEED)!r}, '--output', {str(tmp_path / 'o.jsonl')!r}], "
        "standalone_mode=False); "
        f"print(sorted({{m.split('.')[0] if m.split('.')[0] != 'moderation' else '.'.join(m.split('.')[:2]) "
        f"for m in sys.modules}} & set({unused!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert len((tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()) == 11


def test_config_thresholds_are_the_ones_training_chose_on_dev() -> None:
    config = tomllib.loads((PROJECT_ROOT / "config" / "moderation.toml").read_text(encoding="utf-8"))
    chosen = load_model().info["thresholds"]
    # Auxiliary outputs have thresholds in the model's info for reference only; the policy never sees them.
    # The default cascade screens with fast, and most comments keep fast's scores.
    assert config["scoring"]["scorer"] == "cascade" and config["scoring"]["cascade"]["screen"] == "fast"
    labels = load_model().labels
    assert {label: config["policy"]["thresholds"][label] for label in labels} == {
        label: chosen[label]["value"] for label in labels
    }


def test_train_fast_has_help_naming_the_data_option() -> None:
    result = CliRunner().invoke(cli, ["train", "fast", "--help"])
    assert result.exit_code == 0
    assert "--data" in result.output and "shared/data" in result.output
