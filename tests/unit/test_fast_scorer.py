"""The shipped fast model: safe to load, probabilities out, evidence that points at the words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from moderation.config import ScoringSettings
from moderation.errors import ScoringError
from moderation.models import Comment, InThread, Thread
from moderation.scoring import load_scorer
from moderation.scoring.fast import FastScorer
from moderation.scoring.fast_model import ARRAYS_FILE, DEFAULT_MODEL_DIR, META_FILE, load_model
from moderation.scoring.features import featurise
from moderation.scoring.normalise import normalise


@pytest.fixture(scope="module")
def scorer() -> FastScorer:
    return FastScorer()


def test_shipped_arrays_load_without_pickle_and_hold_only_numbers() -> None:
    with np.load(DEFAULT_MODEL_DIR / ARRAYS_FILE, allow_pickle=False) as arrays:
        kinds = {name: arrays[name].dtype.kind for name in arrays.files}
    assert kinds == {"idf": "f", "intercepts": "f", "weights": "f"}


def test_shipped_model_is_under_25_mb() -> None:
    size = sum((DEFAULT_MODEL_DIR / name).stat().st_size for name in (ARRAYS_FILE, META_FILE))
    assert size < 25_000_000


def test_version_names_the_content_hash(scorer: FastScorer) -> None:
    meta = json.loads((DEFAULT_MODEL_DIR / META_FILE).read_text(encoding="utf-8"))
    assert scorer.version == meta["version"] == f"fast-1.0-{scorer.model.content_hash()[:8]}"


def test_scores_are_probabilities_for_detoxifys_six_labels(scorer: FastScorer) -> None:
    results = scorer.score_texts(["", "Thanks, that is a useful source.", "you stupid f***ing idiot", "x" * 100_000])
    for result in results:
        assert set(result.scores) == {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}
        assert all(0.0 <= value <= 1.0 for value in result.scores.values())


def test_auxiliary_outputs_are_apart_from_the_labels(scorer: FastScorer) -> None:
    (result,) = scorer.score_texts(["Shut up, you pathetic idiot."])
    assert set(result.auxiliary) == {"attack", "offensive", "hate"}
    assert not set(result.auxiliary) & set(result.scores)
    assert result.auxiliary["attack"] > 0.5


def test_logits_are_the_linear_model_over_the_features_whatever_the_batch(scorer: FastScorer) -> None:
    words = [
        "you",
        "are",
        "a",
        "complete",
        "idiot",
        "and",
        "this",
        "article",
        "is",
        "a",
        "useful",
        "source",
        "about",
        "the",
        "council",
        "vote",
    ]
    texts = [normalise(" ".join(words[i % 7 : i % 7 + 3 + i % 11])) for i in range(600)]  # over one batch of 512
    logits = scorer.logits(texts)
    model = scorer.model
    features = featurise(texts, model.spec, model.idf, model.word_classes)
    contributions = features.values[:, None].astype(np.float64) * model.weights[features.columns].astype(np.float64)
    expected = np.zeros((len(texts), len(model.outputs)))
    np.add.at(expected, features.docs, contributions)
    assert logits.shape == (600, 9)
    assert np.allclose(logits, expected + model.intercepts, atol=1e-5)
    assert np.array_equal(scorer.logits(texts[500:520]), logits[500:520])


def test_a_death_threat_is_flagged_as_a_threat(scorer: FastScorer) -> None:
    threshold = scorer.model.info["thresholds"]["threat"]["value"]
    menacing, reporting = scorer.score_texts(
        ["I know where you live. I will find you and kill you.", "The pilot was sentenced to death in absentia."]
    )
    assert menacing.scores["threat"] >= threshold > reporting.scores["threat"]


def test_name_calling_scores_above_a_civil_reply(scorer: FastScorer) -> None:
    civil, rude = scorer.score_texts(["Good point, thanks for the link.", "Shut up, you pathetic idiot."])
    assert rude.scores["insult"] > 0.5 > civil.scores["insult"]
    assert rude.scores["toxicity"] > 0.5 > civil.scores["toxicity"]


def test_insult_evidence_points_at_the_insulting_word(scorer: FastScorer) -> None:
    text = "Slaven, you’re an idiot! Why should his family suffer?"
    result = scorer.score_texts([text])[0]
    assert "idiot" in [text[start:end] for start, end in result.evidence["insult"]]


def test_evidence_points_into_the_original_text_through_normalisation(scorer: FastScorer) -> None:
    text = "Ｙｏｕ are such a stuuuupid ID1OT!!!!"
    result = scorer.score_texts([text])[0]
    words = {text[start:end] for start, end in result.evidence["insult"]}
    assert words & {"stuuuupid", "ID1OT"}


def test_no_evidence_below_the_evidence_score() -> None:
    scorer = FastScorer(evidence_min_score=1.0)
    assert scorer.score_texts(["you stupid idiot"])[0].evidence == {}


def test_fast_is_a_registered_scorer_and_the_thread_adds_the_attack() -> None:
    scorer = load_scorer("fast", ScoringSettings())
    insult = Comment(id="2", text="Mike, you are a complete idiot.", author="Ann", parent_id="1")
    thread = Thread.of([Comment(id="1", text="I think so.", author="Mike"), insult])
    (result,) = scorer.score([InThread(insult, thread)])
    assert scorer.name == "fast" and scorer.version.startswith("fast-1.0-")
    assert result.attack_target == "Mike"
    assert result.attack_on_commenter is not None and result.attack_on_commenter > 0.5


def test_a_model_whose_numbers_were_changed_is_refused(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_MODEL_DIR, tmp_path, dirs_exist_ok=True)
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    meta["calibration"]["insult"] = [1.0, 5.0]
    (tmp_path / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ScoringError, match="does not match its version"):
        load_model(tmp_path)


def test_a_missing_model_says_how_to_rebuild_it(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="moderation train fast"):
        load_model(tmp_path)
