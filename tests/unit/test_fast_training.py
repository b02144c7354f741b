"""Training the fast scorer on a tiny in-test data set: deterministic, and it learns."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from moderation.scoring.fast import FastScorer
from moderation.scoring.fast_model import ARRAYS_FILE, META_FILE, load_model
from moderation.scoring.features import FeatureSpec
from moderation.training.data import LabelSource, TrainingDataError
from moderation.training.decisions import Decision, decisions_table, provenance, read_decisions
from moderation.training.fast import ExtraTraining, TrainSettings, choose_threshold, identity_weights, train_fast
from moderation.training.report import decisions_section

CIVIL = [
    "thanks",
    "for",
    "the",
    "article",
    "i",
    "think",
    "the",
    "plane",
    "was",
    "returned",
    "later",
    "good",
    "point",
    "interesting",
    "read",
]
RUDE = ["idiot", "moron", "stupid", "pathetic", "loser", "shut", "up"]
TINY_SOURCES = {"toxicity": (LabelSource("tiny", ("toxicity",)),), "insult": (LabelSource("tiny", ("insult",)),)}
TINY_AUXILIARY = {"attack": (LabelSource("tiny", ("insult",)),)}
SETTINGS = TrainSettings(
    spec=FeatureSpec(word_bits=12, char_bits=12),
    folds=2,
    label_sources=TINY_SOURCES,
    auxiliary_sources=TINY_AUXILIARY,
    calibration_sources={**TINY_SOURCES, **TINY_AUXILIARY},
)


def _write_tiny(folder: Path, split: str, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    with (folder / f"tiny.{split}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "toxicity", "insult"])
        for i in range(rows):
            rude = rng.random() < 0.4
            words = rng.sample(CIVIL, 5) + (rng.sample(RUDE, 2) if rude else [])
            rng.shuffle(words)
            text = " ".join(words)
            insult = rude and rng.random() < 0.8
            writer.writerow([f"{split}-{i}", ("you " if insult else "") + text, float(rude), float(insult)])


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    _write_tiny(folder, "train", 300, seed=1)
    _write_tiny(folder, "dev", 200, seed=2)
    return folder


def test_training_twice_on_the_same_data_writes_identical_files(tiny_data: Path, tmp_path: Path) -> None:
    first, _ = train_fast(tiny_data, tmp_path / "a", SETTINGS)
    second, _ = train_fast(tiny_data, tmp_path / "b", SETTINGS)
    for name in (ARRAYS_FILE, META_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first.version == second.version


def test_the_number_of_training_processes_does_not_change_the_files(tiny_data: Path, tmp_path: Path) -> None:
    train_fast(tiny_data, tmp_path / "one", replace(SETTINGS, workers=1))
    train_fast(tiny_data, tmp_path / "two", replace(SETTINGS, workers=2))
    for name in (ARRAYS_FILE, META_FILE):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_a_trained_model_loads_and_ranks_rude_rows_first(tiny_data: Path, tmp_path: Path) -> None:
    train_fast(tiny_data, tmp_path / "m", SETTINGS)
    scorer = FastScorer(model_dir=tmp_path / "m")
    civil, rude = scorer.probabilities(["thanks for the article good point", "you pathetic idiot shut up"])
    assert scorer.labels == ("toxicity", "insult")
    assert rude[0] > civil[0] and rude[1] > civil[1]
    assert rude[2] > civil[2], "the auxiliary output comes after the labels and learns too"
    assert load_model(tmp_path / "m").info["training"]["files"]["tiny.train.csv"]["rows"] == 300


def test_a_missing_data_folder_names_the_option_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="pass --data"):
        train_fast(tmp_path / "nowhere", tmp_path / "m", SETTINGS)


def test_threshold_is_the_lowest_grid_value_reaching_the_precision() -> None:
    p = np.array([0.1, 0.35, 0.45, 0.6, 0.9])
    y = np.array([False, False, True, True, True])
    assert choose_threshold(p, y, 0.8) == 0.36


def test_auxiliary_outputs_are_scored_apart_from_the_labels(tiny_data: Path, tmp_path: Path) -> None:
    train_fast(tiny_data, tmp_path / "m", SETTINGS)
    (result,) = FastScorer(model_dir=tmp_path / "m").score_texts(["you pathetic idiot shut up"])
    assert set(result.scores) == {"toxicity", "insult"}
    assert set(result.auxiliary) == {"attack"}
    assert result.auxiliary["attack"] > 0.5


def test_precision_weighted_to_natural_prevalence_asks_for_a_higher_threshold() -> None:
    p = np.array([0.2, 0.3, 0.5, 0.6, 0.9])
    y = np.array([True, False, True, False, True])
    negatives_count_double = np.where(y, 1.0, 2.0)
    assert choose_threshold(p, y, 0.6) == 0.01
    assert choose_threshold(p, y, 0.6, negatives_count_double) == 0.61


def test_non_toxic_rows_naming_an_over_flagged_identity_get_more_weight() -> None:
    texts = ["gay and proud", "you gay idiot", "gay idiots", "a nice day", "you idiot", "nice one"]
    y = np.array([False, True, True, False, True, False])
    weights = identity_weights(texts, y, cap=10.0)
    assert weights[0] > 1.0
    assert list(weights[1:]) == [1.0] * 5


def _decision_lines(path: Path) -> Path:
    """An export-labels file: "zorblax" rejected as an insult three times, one approval, two bad lines."""
    records = [
        {
            "source": "s",
            "comment_id": f"r{n}",
            "content_hash": "h",
            "text": f"you zorblax {word}",
            "decision": "rejected",
            "flags": {"insult": 0.6},
        }
        for n, word in enumerate(["thanks", "article", "point"])
    ]
    records.append(
        {
            "source": "s",
            "comment_id": "a1",
            "content_hash": "h",
            "text": "good point",
            "decision": "approved",
            "flags": {"toxicity": 0.5},
        }
    )
    lines = [json.dumps(r) for r in records] + ["not json", json.dumps({"decision": "pending", "text": "x"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_decisions_are_read_and_bad_lines_skipped_with_their_reason(tmp_path: Path) -> None:
    found = read_decisions(_decision_lines(tmp_path / "labels.jsonl"))
    assert [(d.rejected, d.flags) for d in found.records] == [(True, ("insult",))] * 3 + [(False, ("toxicity",))]
    assert len(found.skipped) == 2
    assert found.skipped[1] == "labels.jsonl:6: decision is 'pending', not approved or rejected"


def test_a_rejection_is_a_positive_for_the_labels_that_flagged_it_only() -> None:
    rejected = Decision("you zorblax", ("attack_on_commenter", "insult"), True, "k1")
    approved = Decision("fine", ("insult",), False, "k2")
    table = decisions_table([rejected, approved], ["unflagged text"], ["toxicity", "insult", "attack"])
    assert table.columns["insult"].tolist() == [1.0, 0.0, 0.0]
    assert table.columns["attack"].tolist() == [1.0, 0.0, 0.0]
    assert table.columns["toxicity"].tolist() == [0.0, 0.0, 0.0]
    assert table.name == "moderator_decisions.train"


def test_training_with_decisions_learns_from_them_and_states_the_caveat(tiny_data: Path, tmp_path: Path) -> None:
    found = read_decisions(_decision_lines(tmp_path / "labels.jsonl"))
    unflagged = ["thanks for the article", "good point interesting read", "i think the plane was returned later"]
    table = decisions_table(found.records, unflagged, ["toxicity", "insult", "attack"])
    extra = ExtraTraining(table, provenance(found.records, len(unflagged), len(found.skipped)))
    train_fast(tiny_data, tmp_path / "plain", SETTINGS)
    train_fast(tiny_data, tmp_path / "decided", SETTINGS, extra=extra)

    def insult_of(model_dir: Path) -> float:
        return float(FastScorer(model_dir=model_dir).probabilities(["you zorblax"])[0][1])

    assert insult_of(tmp_path / "decided") > insult_of(tmp_path / "plain")
    model = load_model(tmp_path / "decided")
    assert model.info["training"]["files"]["moderator_decisions.train.csv"]["rows"] == 7
    assert model.info["training"]["labels"]["insult"] == ["tiny:insult", "moderator_decisions:insult"]
    assert model.info["calibration_data"]["insult"] == ["tiny:insult"], "calibration stays on the dev files"
    section = "\n".join(decisions_section(model))
    assert "4 decided items (3 rejected, 1 approved) and 3 unflagged comments as presumed negatives" in section
    assert "2 records skipped" in section
    assert "Only comments the scorer flagged reach moderators" in section
    assert decisions_section(load_model(tmp_path / "plain")) == []
