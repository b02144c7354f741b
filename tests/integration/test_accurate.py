"""The accurate tier on the shipped artifact: merged into the MiniLM base, loaded through Detoxify."""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest

from moderation.config import AccurateSettings, CascadeSettings, ScoringSettings
from moderation.errors import ScoringError
from moderation.models import CommentScore
from moderation.scoring import TextScorer, load_scorer
from moderation.scoring.accurate import AccurateScorer
from moderation.scoring.accurate_artifact import DEFAULT_MODEL_DIR, read_artifact
from moderation.scoring.attack import ATTACK_VERSION
from moderation.scoring.cascade import CascadeScorer
from moderation.scoring.fast import FastScorer
from moderation.scoring.lexicon import LexiconScorer
from moderation.scoring.onnx_runner import FP32_PRODUCTS, INT8_ONNX_NAME, INT8_RECIPE, MAX_INT8_DIFFERENCE, ONNX_NAME
from moderation.training.accurate import AUXILIARY, LABELS

pytestmark = pytest.mark.slow
REFERENCE = json.loads((DEFAULT_MODEL_DIR / "reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("accurate-cache")


@pytest.fixture(scope="session")
def accurate(cache_dir: Path) -> AccurateScorer:
    return AccurateScorer(AccurateSettings(cache_dir=str(cache_dir), batch_size=4, device="auto"))


class Counting:
    """A real text scorer that records what it was asked to score."""

    def __init__(self, scorer: TextScorer) -> None:
        self.scorer = scorer
        self.name, self.version, self.labels = scorer.name, scorer.version, scorer.labels
        self.seen: list[str] = []

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        self.seen.extend(texts)
        return self.scorer.score_texts(texts)


def _matrix(results: list[CommentScore], outputs: Sequence[str]) -> np.ndarray:
    return np.array([[{**r.scores, **r.auxiliary}[name] for name in outputs] for r in results])


def test_shipped_artifact_reproduces_the_trained_models_scores(accurate: AccurateScorer) -> None:
    scores = _matrix(accurate.model_scores(REFERENCE["texts"]), REFERENCE["labels"])
    assert np.abs(scores - np.array(REFERENCE["scores"])).max() <= 0.01
    assert accurate.labels == LABELS
    assert tuple(REFERENCE["labels"]) == LABELS + AUXILIARY
    assert accurate.version == read_artifact().version


def test_merged_checkpoint_loads_through_detoxify_and_predict_agrees(accurate: AccurateScorer) -> None:
    from detoxify import Detoxify

    folder = accurate.checkpoint.parent
    checkpoint = str(accurate.checkpoint)
    detoxify = Detoxify(model_type=str(folder), checkpoint=checkpoint, huggingface_config_path=str(folder))
    texts = REFERENCE["texts"][:4]
    plain = detoxify.predict(texts)
    ours = _matrix(accurate.model_scores(texts), accurate.labels)
    assert np.abs(np.array([plain[label] for label in accurate.labels]).T - ours).max() < 1e-4


@pytest.fixture(scope="session")
def accurate_on_torch(cache_dir: Path) -> AccurateScorer:
    return AccurateScorer(AccurateSettings(cache_dir=str(cache_dir), batch_size=4, device="cpu", runtime="torch"))


def test_onnx_runtime_gives_the_torch_runtimes_scores(
    accurate: AccurateScorer, accurate_on_torch: AccurateScorer
) -> None:
    texts = [*REFERENCE["texts"], "I know where you live. I will find you and kill you", "a " * 400]
    onnx = accurate.predict_outputs(texts)
    torch = accurate_on_torch.predict_outputs(texts)
    assert np.abs(onnx - torch).max() < 1e-4
    assert (accurate.version, accurate.labels) == (accurate_on_torch.version, accurate_on_torch.labels)
    assert (accurate.checkpoint.parent / ONNX_NAME).is_file()


def test_the_int8_copy_is_made_once_beside_the_export_and_scores_near_it_under_its_own_version(
    accurate: AccurateScorer, cache_dir: Path
) -> None:
    int8 = AccurateScorer(AccurateSettings(cache_dir=str(cache_dir), batch_size=4), "int8")
    folder = accurate.checkpoint.parent
    quantized = folder / INT8_ONNX_NAME
    products = {node.name: node.op_type for node in onnx.load(str(quantized)).graph.node if "MatMul" in node.op_type}
    kept = {name for name in products if FP32_PRODUCTS.search(name)}
    assert len(kept) == 2 and {products[name] for name in kept} == {"MatMul"}
    # every other product with a weight operand: the encoder's other 34, the pooler's and the classifier's
    assert list(products.values()).count("MatMulInteger") == 36
    assert quantized.stat().st_size < (folder / ONNX_NAME).stat().st_size
    assert (int8.version, int8.model_version) == (f"{accurate.version}-{INT8_RECIPE}", accurate.version)
    # cached dev outputs (train cascade's) are checked against this: another recipe's are never reused
    assert int8.weights_digest == f"{accurate.weights_digest}-{INT8_RECIPE}"
    assert int8.labels == accurate.labels
    fp32_scores, int8_scores = accurate.predict_outputs(REFERENCE["texts"]), int8.predict_outputs(REFERENCE["texts"])
    assert np.abs(fp32_scores - int8_scores).max() < MAX_INT8_DIFFERENCE
    made = quantized.stat().st_mtime_ns
    AccurateScorer(AccurateSettings(cache_dir=str(cache_dir)), "int8")
    assert quantized.stat().st_mtime_ns == made


def test_a_later_process_scores_from_the_onnx_export_without_importing_torch(
    accurate: AccurateScorer, cache_dir: Path
) -> None:
    program = (
        "import sys; from moderation.config import AccurateSettings; "
        "from moderation.scoring.accurate import AccurateScorer; "
        f"scorer = AccurateScorer(AccurateSettings(cache_dir={str(cache_dir)!r})); "
        "print(scorer.score_texts(['You idiot.'])[0].scores['insult'], 'torch' in sys.modules, "
        "'transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    insult, torch_imported, transformers_imported = done.stdout.split()
    assert float(insult) == accurate.score_texts(["You idiot."])[0].scores["insult"]
    assert (torch_imported, transformers_imported) == ("False", "False")


def test_label_scores_are_the_calibrated_blend_with_the_fast_model_and_auxiliary_outputs_are_not(
    accurate: AccurateScorer,
) -> None:
    texts = REFERENCE["texts"]
    raw, calibrated = accurate.model_scores(texts), accurate.score_texts(texts)
    screen = FastScorer()
    fast = [dict(zip(screen.labels, row, strict=False)) for row in screen.probabilities(texts)]
    assert set(accurate.calibration) == set(LABELS)
    for before, after, screened in zip(raw, calibrated, fast, strict=True):
        assert after.auxiliary == before.auxiliary
        for label, blend in accurate.calibration.items():
            z = blend.slope * _logit(before.scores[label]) + blend.fast_slope * _logit(screened[label])
            assert after.scores[label] == pytest.approx(1 / (1 + math.exp(-(z + blend.offset))), abs=1e-4)
    # the blend never ranks against either model within a label (no negative slope), so ranking figures stand
    assert all(blend.slope > 0 and blend.fast_slope >= 0 for blend in accurate.calibration.values())


def test_a_blend_fitted_with_another_fast_model_is_refused(tmp_path: Path, cache_dir: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    meta = json.loads((model / "model.json").read_text(encoding="utf-8"))
    meta["blend"]["fast"] = "fast-0.0-retrained"
    (model / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ScoringError, match=r"fast-0\.0-retrained.*--calibrate-only"):
        AccurateScorer(AccurateSettings(model_dir=str(model), cache_dir=str(cache_dir)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def test_sorted_batches_give_input_order_and_equal_one_by_one_scores(accurate: AccurateScorer) -> None:
    texts = ["ok", "You are a complete idiot and " * 12, "shut up", "Thanks, that helps a lot.", "a " * 70, "no"]
    batched = _matrix(accurate.score_texts(texts), accurate.labels)
    one_by_one = np.vstack([_matrix(accurate.score_texts([t]), accurate.labels) for t in texts])
    assert np.abs(batched - one_by_one).max() < 1e-4
    assert len(set(map(tuple, batched.round(4)))) == len(texts)


def test_a_50000_character_comment_scores(accurate: AccurateScorer) -> None:
    (result,) = accurate.score_texts(["you are a fool " * 3334])
    assert 0.0 <= result.scores["insult"] <= 1.0


def test_missing_deltas_is_one_clear_error(tmp_path: Path, cache_dir: Path) -> None:
    shutil.copy(DEFAULT_MODEL_DIR / "model.json", tmp_path / "model.json")
    with pytest.raises(ScoringError, match=r"deltas.safetensors is missing; reinstall .*moderation train accurate"):
        AccurateScorer(AccurateSettings(model_dir=str(tmp_path), cache_dir=str(cache_dir)))


def test_damaged_deltas_is_one_clear_error(tmp_path: Path, cache_dir: Path) -> None:
    shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "model")
    deltas = tmp_path / "model" / "deltas.safetensors"
    data = bytearray(deltas.read_bytes())
    data[len(data) // 2] ^= 0xFF
    deltas.write_bytes(bytes(data))
    with pytest.raises(ScoringError, match=r"does not match the hash in model.json \(damaged\?\)"):
        AccurateScorer(AccurateSettings(model_dir=str(tmp_path / "model"), cache_dir=str(cache_dir)))


def test_deltas_that_do_not_fit_the_base_are_one_clear_error(tmp_path: Path, cache_dir: Path) -> None:
    import torch

    from moderation.scoring.accurate_artifact import write_artifact

    meta = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    meta = {k: v for k, v in meta.items() if k not in ("format", "deltas_sha256")}
    adapters = {"bert.encoder.layer.0.attention.self.query": (torch.zeros(4, 100), torch.zeros(384, 4))}
    write_artifact(tmp_path, adapters, {"classifier.weight": torch.zeros(4, 384)}, meta)
    with pytest.raises(ScoringError, match=r"does not fit the base encoder"):
        AccurateScorer(AccurateSettings(model_dir=str(tmp_path), cache_dir=str(tmp_path / "cache")))


def test_a_cached_checkpoint_that_is_not_plain_tensors_is_rebuilt(tmp_path: Path) -> None:
    import pickle

    first = AccurateScorer(AccurateSettings(cache_dir=str(tmp_path)))
    first.checkpoint.write_bytes(pickle.dumps({"config": 1, "state_dict": print}))
    again = AccurateScorer(AccurateSettings(cache_dir=str(tmp_path)))
    assert again.checkpoint == first.checkpoint
    assert again.score_texts(["hello"])[0].scores == first.score_texts(["hello"])[0].scores


def test_cascade_rescores_only_the_band_and_passes_the_rest_through(accurate: AccurateScorer) -> None:
    texts = ["What a lovely photo.", "You idiot.", "Nice work on the map.", "f*** this, you moron"]
    screen = LexiconScorer()
    counting = Counting(accurate)
    cascade = CascadeScorer(screen, counting, {"insult": (0.5, 1.0)})
    results = cascade.score_texts(texts)
    assert counting.seen == ["You idiot.", "f*** this, you moron"]
    assert (cascade.screened, cascade.escalated) == (4, 2)
    screened = screen.score_texts(texts)
    assert [results[0].scores, results[2].scores] == [screened[0].scores, screened[2].scores]
    rescored = accurate.score_texts(["You idiot."])[0]
    assert results[1].scores == {label: rescored.scores[label] for label in screen.labels}
    assert results[1].auxiliary == rescored.auxiliary


def test_cascade_loads_the_accurate_tier_only_when_a_comment_is_uncertain(cache_dir: Path) -> None:
    settings = ScoringSettings(
        accurate=AccurateSettings(cache_dir=str(cache_dir)),
        cascade=CascadeSettings(screen="lexicon", accurate="accurate", bands={"insult": (0.5, 1.0)}),
    )
    scorer = load_scorer("cascade", settings)
    cascade = scorer.text_scorer  # type: ignore[attr-defined]
    cascade.score_texts(["A calm remark.", "Another calm remark."])
    assert not cascade.accurate.loaded
    cascade.score_texts(["You idiot."])
    assert cascade.accurate.loaded
    assert read_artifact().version in scorer.version and "lexicon" in scorer.version


def test_the_int8_tiers_scores_in_a_recheck_band_are_replaced_by_the_fp32_models(
    cache_dir: Path, accurate: AccurateScorer
) -> None:
    calm, rude = ["A calm remark.", "Nice work on the map."], ["You idiot.", "f*** this, you moron"]
    settings = ScoringSettings(
        accurate=AccurateSettings(cache_dir=str(cache_dir)),
        cascade=CascadeSettings(
            screen="lexicon",
            accurate="accurate:int8",
            bands={"insult": (0.0, 1.0)},
            recheck_bands={"insult": (0.5, 1.0)},
        ),
    )
    cascade = load_scorer("cascade", settings).text_scorer  # type: ignore[attr-defined]
    int8 = AccurateScorer(AccurateSettings(cache_dir=str(cache_dir)), "int8")
    outputs = [*cascade.labels, *AUXILIARY]  # the screen's labels, the accurate tier's auxiliary outputs
    # Escalated, the int8 insult below 0.5: not rechecked.
    np.testing.assert_array_equal(_matrix(cascade.score_texts(calm), outputs), _matrix(int8.score_texts(calm), outputs))
    assert (cascade.escalated, cascade.rechecked, cascade.recheck.loaded) == (2, 0, False)
    # In the recheck band: the fp32 model's scores.
    rechecked = _matrix(cascade.score_texts(rude), outputs)
    np.testing.assert_array_equal(rechecked, _matrix(accurate.score_texts(rude), outputs))
    assert np.abs(rechecked - _matrix(int8.score_texts(rude), outputs)).max() > 0
    assert (cascade.escalated, cascade.rechecked) == (4, 2)
    assert cascade.version.endswith(f">accurate/{int8.version}>accurate/{accurate.version}")


def test_a_tiny_training_run_writes_an_artifact_that_loads_and_reproduces(tmp_path: Path) -> None:
    from moderation.training.accurate import SUPERVISION, TrainOptions, train_accurate

    data = tmp_path / "data"
    data.mkdir()
    texts = ["you are an idiot", "thanks for sharing", "shut the hell up", "nice photo of the bay"]
    for family, labels in SUPERVISION.items():
        columns = sorted({c for cols in labels.values() for c in cols})
        for split in ("train", "dev"):  # dev: the learning curve's subsample
            with (data / f"{family}.{split}.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["id", "text", *columns])
                for i, text in enumerate(texts):
                    writer.writerow([f"{family}-{i}", text, *[float(i % 2 == 0)] * len(columns)])
    options = TrainOptions(per_family=4, batch_size=8, epochs=1, max_length=16, eval_max_length=32, threads=1)
    result = train_accurate(data, tmp_path / "model", options, checkpoint_dir=tmp_path / "checkpoint")
    assert result.progress.step == 3
    scorer = AccurateScorer(AccurateSettings(model_dir=str(tmp_path / "model"), cache_dir=str(tmp_path / "cache")))
    reference = json.loads((tmp_path / "model" / "reference.json").read_text())
    scores = _matrix(scorer.score_texts(reference["texts"]), reference["labels"])
    assert np.abs(scores - np.array(reference["scores"])).max() <= 0.01
    assert (tmp_path / "model" / "deltas.safetensors").stat().st_size < 3_000_000


def test_score_command_selects_the_accurate_scorer_and_records_its_version(tmp_path: Path, cache_dir: Path) -> None:
    from click.testing import CliRunner

    from moderation.cli import cli
    from tests.conftest import EXAMPLES

    config = tmp_path / "c.toml"
    config.write_text(f'[scoring.accurate]\ncache_dir = "{cache_dir}"\n')
    out = tmp_path / "scores.jsonl"
    thread = str(EXAMPLES / "seed_thread.jsonl")
    args = ["score", "--config", str(config), "--input", thread, "--output", str(out), "--scorer", "accurate"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert records["c6"]["flagged"] and records["c6"]["attack_target"] == "Slaven"
    assert records["c6"]["scorer"] == f"accurate/{read_artifact().version}+thread{ATTACK_VERSION}"


def test_a_service_loads_every_tier_of_the_default_cascade_before_it_is_ready(cache_dir: Path, sqlite_url: str) -> None:
    import time

    from sqlalchemy import create_engine

    from moderation.api.service import ScoringService
    from moderation.config import Settings
    from moderation.storage.engine import Database

    settings = Settings(scoring=ScoringSettings(accurate=AccurateSettings(cache_dir=str(cache_dir))))
    service = ScoringService(settings, Database(create_engine(sqlite_url)), time.time)
    service.load()
    cascade = service.scorer.text_scorer  # type: ignore[union-attr]
    assert service.ready and cascade.accurate.loaded and cascade.recheck.loaded  # the first request waits for none
