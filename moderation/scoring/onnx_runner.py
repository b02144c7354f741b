"""The accurate tier on ONNX Runtime: the Detoxify-loaded model, exported once, scored without torch.

A scoring process that runs the accurate tier through torch spends most of a short run importing torch and
transformers (about 7 s of the 23 s the cascade took on 2,000 natural comments, reports/cascade.md). Here
the model Detoxify loaded is exported to ONNX once per artifact hash (`model.onnx` beside the merged
checkpoint), checked against that loaded model on probe texts, and later processes import only
onnxruntime and the `tokenizers` library. The export is fp32: the same scores as torch.

`quantize_onnx` makes the int8 copy the cascade escalates to (scorer `accurate:int8`): weights quantized per
output channel, activations per batch (ONNX Runtime's dynamic quantization), only the matrix products with a
weight operand (the encoder's, the pooler's, the classifier's). Attention's score products and the embeddings
stay fp32, and so do the feed-forward output products of the first two layers, where int8 moved the most
flags. 1.6 to 2.1 times the fp32 export's speed on a CPU with int8 instructions, and 98.7% of its flags on dev
comments (docs/model-card-accurate.md).
Texts go through the same character cap, truncation and length-sorted batches as
SequenceClassifierRunner (inference.py).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moderation.errors import ScoringError
from moderation.scoring.inference import CHARS_PER_TOKEN, TOKENS_PER_TEXT, available_cores, length_batches

ONNX_NAME = "model.onnx"
# The int8 recipe, named in the copy's file name and in the scorer's version: scores and files of an earlier
# recipe are never taken for this one's.
INT8_RECIPE = "int8-ffn01"
INT8_ONNX_NAME = f"model.{INT8_RECIPE}.onnx"
# Matrix products the int8 copy leaves in fp32: the feed-forward output of layers 0 and 1. On 10,335 dev
# comments (jigsaw_toxic_6label, jigsaw_toxic_first20k, kaggle_insults) quantizing every product with a weight
# operand and the embeddings kept 98.0% of the fp32 model's (comment, label) flags; the products alone, these
# two in fp32: 98.7%, at 1.2 times the time (all six layers' in fp32: 98.8% at 1.4 times; with the embeddings
# in int8 too: 98.3%).
FP32_PRODUCTS = re.compile(r"/layer\.[01]/output/dense/MatMul$")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The exported model must give the loaded model's probabilities on these to this precision.
PROBE_TEXTS = (
    "Thanks, that helps a lot.",
    "You are a complete idiot and everyone here knows it.",
    "I know where you live. I will find you and kill you.",
    "ok",
)
MAX_EXPORT_DIFFERENCE = 1e-4
# The int8 copy's probabilities may move this far from the fp32 export's on PROBE_TEXTS: the shipped model's move
# 0.02 there (0.10 at most on 400 natural dev comments, reports/bench-quantized.json); more means a broken copy.
MAX_INT8_DIFFERENCE = 0.1


def export_onnx(model: Any, tokenizer: Any, path: Path) -> None:
    """Export a loaded (Detoxify) sequence classifier to `path` (written whole or not at all), and check that
    ONNX Runtime gives its probabilities on PROBE_TEXTS."""
    import torch

    model = model.eval().to("cpu")
    sample = tokenizer(list(PROBE_TEXTS[:2]), padding=True, return_tensors="pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _written_whole(path) as building:
        # The exporter warns about constructs it handles (indexing, masks); _check_export judges the result.
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                tuple(sample[name] for name in INPUTS),
                str(building),
                input_names=list(INPUTS),
                output_names=["logits"],
                dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in INPUTS}, "logits": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        _check_export(model, tokenizer, building)


def _check_export(model: Any, tokenizer: Any, exported: Path) -> None:
    import torch

    encoded = tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = torch.sigmoid(model(**encoded).logits).numpy()
    session = _session(exported, threads=1)
    feed = {name: encoded[name].numpy().astype(np.int64) for name in INPUTS}
    got = 1.0 / (1.0 + np.exp(-session.run(None, feed)[0]))
    difference = float(np.abs(got - expected).max())
    if difference > MAX_EXPORT_DIFFERENCE:
        raise ScoringError(
            f"the ONNX export of the accurate model differs from the Detoxify-loaded model by {difference:.2g} "
            'on the probe texts; set scoring.accurate.runtime = "torch"'
        )


def quantize_onnx(exported: Path, tokenizer_path: Path, path: Path) -> None:
    """Write the int8 copy of `exported` to `path` (whole or not at all), checked against it on PROBE_TEXTS."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _written_whole(path) as building:
        logging.disable(logging.WARNING)  # it logs advice on pre-processing to the root logger, noise in a CLI run
        try:
            quantize_dynamic(
                str(exported),
                str(building),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=_fp32_products(exported),
                extra_options={"MatMulConstBOnly": True},
            )
        except Exception as exc:  # onnx and onnxruntime raise their own untyped errors (and OSError on a full disk)
            raise ScoringError(f"could not make the int8 copy of {exported}: {exc}; use the scorer accurate") from exc
        finally:
            logging.disable(logging.NOTSET)
        expected = OnnxClassifierRunner(exported, tokenizer_path, 128, threads=1).predict(PROBE_TEXTS)
        got = OnnxClassifierRunner(building, tokenizer_path, 128, threads=1).predict(PROBE_TEXTS)
        difference = float(np.abs(got - expected).max())
        if difference > MAX_INT8_DIFFERENCE:
            raise ScoringError(
                f"the int8 copy of the accurate model differs from its fp32 export by {difference:.2g} on the probe "
                "texts; use the scorer `accurate` (fp32) instead"
            )


def _fp32_products(exported: Path) -> list[str]:
    import onnx

    return [node.name for node in onnx.load(str(exported)).graph.node if FP32_PRODUCTS.search(node.name)]


@contextmanager
def _written_whole(path: Path) -> Iterator[Path]:
    """A scratch file beside `path` for the block to write: it becomes `path` when the block ends without an
    error, and is removed otherwise, so a crash never leaves half a model where a later process would load it."""
    handle, building = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".onnx", dir=path.parent)
    os.close(handle)
    try:
        yield Path(building)
        os.replace(building, path)
    finally:
        Path(building).unlink(missing_ok=True)


class OnnxClassifierRunner:
    """Sigmoid scores of an exported sequence classifier for many texts, on ONNX Runtime's CPU provider."""

    def __init__(
        self, model_path: Path, tokenizer_path: Path, max_length: int, batch_size: int = 32, threads: int = 0
    ) -> None:
        from tokenizers import Tokenizer

        self.session = _session(model_path, threads or available_cores())
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        self.batch_size = batch_size
        self.max_chars = max_length * CHARS_PER_TOKEN
        self.n_outputs = int(self.session.get_outputs()[0].shape[-1])

    def predict(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """(texts, outputs) probabilities, rows in input order."""
        scores = np.zeros((len(texts), self.n_outputs), dtype=np.float32)
        if not texts:
            return scores
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch([text[: self.max_chars] for text in texts])]
        lengths = [len(row) for row in ids]
        for rows in length_batches(lengths, self.batch_size, self.batch_size * TOKENS_PER_TEXT):
            input_ids = np.zeros((len(rows), max(lengths[i] for i in rows)), dtype=np.int64)
            mask = np.zeros_like(input_ids)
            for j, i in enumerate(rows):
                input_ids[j, : lengths[i]] = ids[i]
                mask[j, : lengths[i]] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
            logits = self.session.run(None, feed)[0]
            scores[rows] = 1.0 / (1.0 + np.exp(-logits))
        return scores


def _session(path: Path, threads: int) -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ScoringError(
            'scoring.accurate.runtime = "onnx" needs the onnxruntime package: pip install onnxruntime, '
            'or set runtime = "torch"'
        ) from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Threads that wait instead of spinning: on a machine where other work holds a core, every core's thread
    # costs a few per cent instead of the whole pass waiting on a descheduled spinner (reports/cascade.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # its warnings about unused initialisers are noise in `moderation score`
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors on a damaged file
        raise ScoringError(
            f"could not load the accurate model's ONNX export {path}: {exc}; delete it to rebuild"
        ) from exc
