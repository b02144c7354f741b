from pathlib import Path

import pytest

from moderation.errors import ScoringError
from moderation.scoring.inference import length_batches


def test_length_batches_sort_by_length_and_keep_long_texts_in_small_batches() -> None:
    lengths = [5, 300, 7, 6, 290, 8, 310]
    batches = length_batches(lengths, max_texts=3, max_tokens=600)
    assert batches == [[0, 3, 2], [5, 4], [1], [6]]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))


def test_a_text_longer_than_the_token_budget_still_gets_a_batch() -> None:
    assert length_batches([1000, 3], max_texts=8, max_tokens=100) == [[1], [0]]


def test_idle_cores_leaves_busy_cores_alone_but_never_drops_below_one() -> None:
    from moderation.scoring.inference import available_cores, idle_cores

    assert 1 <= idle_cores() <= available_cores()


def test_a_damaged_export_gives_one_error_naming_the_fp32_scorer_and_leaves_no_int8_file(tmp_path: Path) -> None:
    from moderation.scoring.onnx_runner import quantize_onnx

    damaged = tmp_path / "model.onnx"
    damaged.write_bytes(b"not an onnx model")
    with pytest.raises(ScoringError, match=r"could not make the int8 copy of .*model\.onnx: .*use the scorer accurate"):
        quantize_onnx(damaged, tmp_path / "tokenizer.json", tmp_path / "model.int8.onnx")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.onnx"]
