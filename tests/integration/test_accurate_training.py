"""`moderation train accurate` is resumable: a stopped and resumed run ends where one uninterrupted run ends."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from moderation.config import AccurateSettings
from moderation.scoring.accurate import AccurateScorer
from moderation.scoring.onnx_runner import INT8_RECIPE
from moderation.training.accurate import (
    AUXILIARY,
    CHECKPOINT_FILE,
    LABELS,
    OUTPUTS,
    SUPERVISION,
    TrainOptions,
    export_checkpoint,
    train_accurate,
)
from moderation.training.accurate_report import write_curve_report
from moderation.training.identity_balance import counterfactuals

pytestmark = pytest.mark.slow
TINY = TrainOptions(
    max_length=16, eval_max_length=16, batch_size=4, epochs=2, warmup_steps=2, curve_every=24, curve_rows=8
)
RUDE = ("you are a stupid idiot", "shut up, moron", "I will hurt you", "go to hell, loser")
KIND = ("thanks for the link", "a fair point about the budget", "lovely photo of the harbour", "see you on Monday")


def _write_family(
    folder: Path, family: str, split: str, rows: int, rude: tuple[str, ...] = RUDE, kind: tuple[str, ...] = KIND
) -> None:
    columns = sorted({c for cols in SUPERVISION[family].values() for c in cols})
    with (folder / f"{family}.{split}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", *columns])
        for i in range(rows):
            is_rude = i % 2 == 0
            text = f"{(rude if is_rude else kind)[i // 2 % 4]} #{i}"
            writer.writerow(
                [f"{family}-{i}", text, *[(1.0 if is_rude and (i + k) % 3 else 0.0) for k in range(len(columns))]]
            )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    for family in SUPERVISION:
        _write_family(folder, family, "train", 10)
        _write_family(folder, family, "dev", 8)
    return folder


def _saved(checkpoint_dir: Path) -> dict[str, Any]:
    return torch.load(checkpoint_dir / CHECKPOINT_FILE, weights_only=True)


def test_stopping_and_resuming_ends_with_the_weights_of_one_uninterrupted_run(data_dir: Path, tmp_path: Path) -> None:
    whole, split = tmp_path / "whole", tmp_path / "split"
    train_accurate(data_dir, None, replace(TINY, max_steps=9), checkpoint_dir=whole)
    first = train_accurate(data_dir, None, replace(TINY, max_steps=4), checkpoint_dir=split)
    assert first.progress.step == 4
    after_stop = _saved(split)
    resumed = train_accurate(data_dir, None, replace(TINY, max_steps=5), checkpoint_dir=split, resume=True)
    one, two = _saved(whole), _saved(split)
    assert resumed.progress.step == one["progress"]["step"] == 9
    assert two["progress"]["examples"] == one["progress"]["examples"] == 36
    assert after_stop["optimizer"]["state"][0]["step"] == 4
    assert two["optimizer"]["state"][0]["step"] == one["optimizer"]["state"][0]["step"] == 9
    assert two["schedule"]["last_epoch"] == one["schedule"]["last_epoch"]
    for name, tensor in one["trainable"].items():
        torch.testing.assert_close(two["trainable"][name], tensor, atol=1e-6, rtol=1e-5)
    changed = [n for n, t in one["trainable"].items() if not torch.allclose(t, after_stop["trainable"][n])]
    assert changed, "the resumed sitting trained nothing"
    assert [point["examples"] for point in two["progress"]["curve"]] == [0, 16, 24, 36]


def test_a_run_started_from_an_exported_model_goes_on_where_that_run_stopped(data_dir: Path, tmp_path: Path) -> None:
    first, model = tmp_path / "first", tmp_path / "model"
    train_accurate(data_dir, model, replace(TINY, max_steps=4), checkpoint_dir=first)
    same = train_accurate(
        data_dir, None, replace(TINY, init_from=str(model), max_minutes=0), checkpoint_dir=tmp_path / "a"
    )
    other = replace(TINY, init_from=str(model), max_minutes=0, seed=7)
    new_order = train_accurate(data_dir, None, other, checkpoint_dir=tmp_path / "b")
    assert (same.progress.step, same.progress.examples) == (4, 16)
    assert (new_order.progress.step, new_order.progress.examples) == (0, 16)
    assert [point["examples"] for point in same.progress.curve] == [0, 16]
    started, exported = _saved(tmp_path / "a"), _saved(first)
    assert started["schedule"]["last_epoch"] == exported["schedule"]["last_epoch"] == 4
    for name, tensor in exported["trainable"].items():
        torch.testing.assert_close(started["trainable"][name], tensor, atol=1e-6, rtol=1e-5)


def test_exported_checkpoint_scores_six_labels_and_the_auxiliary_tasks_apart(data_dir: Path, tmp_path: Path) -> None:
    checkpoints, model = tmp_path / "checkpoints", tmp_path / "model"
    train_accurate(data_dir, None, replace(TINY, max_steps=3), checkpoint_dir=checkpoints)
    export_checkpoint(data_dir, model, checkpoints)
    scorer = AccurateScorer(AccurateSettings(model_dir=str(model), cache_dir=str(tmp_path / "cache")))
    (result,) = scorer.score_texts(["I know where you live."])
    assert scorer.labels == LABELS
    assert tuple(result.scores) == LABELS
    assert tuple(result.auxiliary) == AUXILIARY


def test_the_curve_report_says_how_far_training_got_and_lists_every_curve_point(data_dir: Path, tmp_path: Path) -> None:
    checkpoints, model, report = tmp_path / "checkpoints", tmp_path / "model", tmp_path / "report.md"
    train_accurate(data_dir, model, replace(TINY, max_steps=7), checkpoint_dir=checkpoints)
    write_curve_report(data_dir, model, report)
    text = report.read_text()
    assert "28 examples seen: 0.467 of one epoch" in text  # 7 of the 15 steps of an epoch
    assert "**This model is undertrained**" in text
    curve_rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert curve_rows == ["| 0", "| 24", "| 28"]
    assert "| kaggle_insults | attack | 2 / 8 |" in text  # rows 2 and 4 of the dev file


def test_train_cascade_fits_the_screen_chooses_bands_reports_them_and_writes_them_into_the_config(
    data_dir: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from moderation.cli import cli
    from moderation.config import load_settings
    from moderation.scoring.base import load_scorer
    from moderation.scoring.screen_fit import read_fit

    model = tmp_path / "model"
    train_accurate(data_dir, model, replace(TINY, max_steps=3), checkpoint_dir=tmp_path / "checkpoints")
    config = tmp_path / "moderation.toml"
    config.write_text(
        f'[scoring.accurate]\nmodel_dir = "{model}"\ncache_dir = "{tmp_path / "cache"}"\n\n'
        f'[scoring.cascade]\nscreen = "lexicon"\nscreen_fit = "{tmp_path / "fit.json"}"\n\n'
        "[scoring.cascade.bands]\ntoxicity = [0.5, 0.6]\n"
    )
    report = tmp_path / "cascade.md"
    args = ["train", "cascade", "--data", str(data_dir), "--config", str(config), "--report", str(report)]
    args += ["--scores-cache", str(tmp_path / "scores.npz"), "--write-config"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "of the accurate tier's flags kept" in result.output
    printed = result.output.split("[scoring.cascade.bands]\n")[1].split("wrote")[0]
    assert "toxicity = [0.5, 0.6]" not in config.read_text()
    assert f"[scoring.cascade.bands]\n{printed}" in config.read_text()
    bands = load_settings(config).scoring.cascade.bands
    assert set(bands) <= set(LABELS) and all(low <= high for low, high in bands.values())
    text = report.read_text()
    assert "## Decisions against the accurate tier alone" in text and "| --miss |" in text
    assert "## The screen's fit to the accurate tier" in text and "| own scores |" in text
    fit = read_fit(tmp_path / "fit.json")
    settings = load_settings(config)
    cascade = load_scorer("cascade", settings.scoring).text_scorer  # type: ignore[attr-defined]
    assert fit.screen.startswith("lexicon/") and set(fit.labels) == set(cascade.screen.labels) & set(LABELS)
    assert cascade.fit == fit and f"-fit{fit.digest}" in cascade.version
    # The default escalation tier is the int8 copy; the report measures its differences from the fp32 model.
    assert cascade.accurate.version.endswith(f"-{INT8_RECIPE}") and "## The escalation tier" in text
    assert (tmp_path / "scores.npz").is_file() and (tmp_path / "int8-scores.npz").is_file()  # cached apart
    # The fp32 model rechecks the int8 copy where their flags differed: the bands written, even none.
    assert "## The recheck" in text and "[scoring.cascade.recheck_bands]\n" in config.read_text()
    assert (cascade.recheck is not None) == bool(settings.scoring.cascade.recheck_bands)

    # With the fit turned off, the bands are chosen on the screen's own scores and no fit is written; with the
    # fp32 model as the escalation tier, the report has no tier of its own to describe.
    config.write_text(
        config.read_text().replace(f'screen_fit = "{tmp_path / "fit.json"}"', 'screen_fit = ""\naccurate = "accurate"')
    )
    (tmp_path / "fit.json").unlink()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "wrote the screen's fit" not in result.output and not (tmp_path / "fit.json").exists()
    assert "No screen fit" in report.read_text() and "| fitted |" not in report.read_text()
    assert "## The escalation tier" not in report.read_text()


def test_a_new_run_from_an_exported_model_records_that_model_and_its_report_names_both_runs(
    data_dir: Path, tmp_path: Path
) -> None:
    first, second, report = tmp_path / "first", tmp_path / "second", tmp_path / "report.md"
    started = train_accurate(
        data_dir, first, replace(TINY, max_steps=4, identity_balance=True), checkpoint_dir=tmp_path / "a"
    )
    assert started.artifact is not None and started.progress.earlier is None
    other = replace(TINY, init_from=str(first), max_steps=3, seed=7, counterfactual_weight=0.5)
    train_accurate(data_dir, second, other, checkpoint_dir=tmp_path / "b")
    earlier = json.loads((second / "model.json").read_text())["training"]["earlier"]
    assert (earlier["version"], earlier["steps"], earlier["examples_seen"]) == (started.artifact.version, 4, 16)
    assert earlier["options"]["identity_balance"] is True and earlier["earlier"] is None
    write_curve_report(data_dir, second, report)
    text = report.read_text()
    assert f"- Started from `{started.artifact.version}`: 4 steps (0.2667 of 2 epochs, batch 4)" in text
    assert "- Then: 3 steps of 30 planned (12 rows seen," in text
    assert "identity-term balancing on, counterfactual logit pairing off." in text  # the first run
    assert "identity-term balancing off, counterfactual logit pairing weight 0.5 (training/identity_balance.py)" in text


def test_counterfactual_pairing_brings_the_scores_of_a_row_and_its_identity_swapped_twin_together(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rude = ("you gay idiot", "shut up, gay moron", "muslims are rats", "go to hell, loser")
    kind = ("the christian choir", "a fair point", "jewish holidays start", "see you on Monday")
    for family in SUPERVISION:
        for split, rows in (("train", 16), ("dev", 8)):
            _write_family(data, family, split, rows, rude=rude, kind=kind)
    texts = [*rude, *kind]
    twins = counterfactuals(texts, seed=1)
    runs = {"none": (0.0, ()), "all": (10.0, ()), "no output": (10.0, OUTPUTS)}
    gaps: dict[str, float] = {}
    for name, (weight, unpaired) in runs.items():
        model = tmp_path / name.replace(" ", "-")
        options = replace(TINY, max_steps=8, counterfactual_weight=weight, unpaired_outputs=unpaired)
        train_accurate(data, model, options, checkpoint_dir=tmp_path / f"checkpoints-{model.name}")
        scorer = AccurateScorer(AccurateSettings(model_dir=str(model), cache_dir=str(tmp_path / "cache")))
        originals = scorer.model_scores([texts[i] for i in twins])
        swapped = scorer.model_scores(list(twins.values()))
        pairs = list(zip(originals, swapped, strict=True))
        gaps[name] = sum(abs(a.scores[label] - b.scores[label]) for a, b in pairs for label in LABELS)
    assert len(twins) == 5
    assert gaps["all"] < gaps["none"] / 2
    # Outputs left unpaired add nothing to the loss: with every output left out, training is the unpaired one.
    assert gaps["no output"] == pytest.approx(gaps["none"], abs=1e-4)
    for name, tensor in _saved(tmp_path / "checkpoints-none")["trainable"].items():
        torch.testing.assert_close(_saved(tmp_path / "checkpoints-no-output")["trainable"][name], tensor)
