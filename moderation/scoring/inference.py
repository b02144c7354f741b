"""Batched inference for a transformer classifier loaded by Detoxify, tuned for throughput.

What `Detoxify.predict` does not do: texts are cut to a character budget before tokenising (a
50,000-character comment costs no more than one at the budget), tokenised once, sorted by length so a
batch pads only to its own longest text (and long texts go in smaller batches), run under
`torch.inference_mode`, and put back in input order.
The model is truncated at its max length as Detoxify does, so scores match `predict` on the same text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# A WordPiece token is rarely longer than this many characters; the cut keeps every token the model sees.
CHARS_PER_TOKEN = 16
# A batch holds at most batch_size texts and batch_size x TOKENS_PER_TEXT padded tokens.
TOKENS_PER_TEXT = 64


def resolve_device(device: str) -> str:
    """`auto` is CUDA when torch sees a GPU, else the CPU; anything else is passed to torch."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def idle_cores() -> int:
    """Cores this process may use that other processes are not already keeping busy (at least 1).

    On a machine shared with other busy processes, more torch threads than idle cores is much slower than
    fewer: measured on the project's 2-core machine, 2 threads scored 4 to 6 times slower than 1 while other
    jobs ran (reports/accurate-model.md).
    """
    try:
        busy = int(os.getloadavg()[0])
    except OSError:  # no load average on this platform
        busy = 0
    return max(1, available_cores() - busy)


def use_threads(threads: int = 0) -> None:
    """Let torch use `threads` CPU threads (0: the available cores that are idle, see idle_cores)."""
    import torch

    wanted = threads or idle_cores()
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


class SequenceClassifierRunner:
    """Sigmoid scores of a Hugging Face sequence classifier for many texts, fast."""

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 32, max_length: int | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_length or model_max_length(model, tokenizer)
        self.max_chars = self.max_length * CHARS_PER_TOKEN

    def predict(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """(texts, labels) probabilities, rows in input order."""
        import torch

        n_labels = int(self.model.config.num_labels)
        scores = np.zeros((len(texts), n_labels), dtype=np.float32)
        if not texts:
            return scores
        encoded = self.tokenizer(
            [text[: self.max_chars] for text in texts], truncation=True, max_length=self.max_length
        )
        lengths = [len(row) for row in encoded["input_ids"]]
        device = self.model.device
        with torch.inference_mode():
            for rows in length_batches(lengths, self.batch_size, self.batch_size * TOKENS_PER_TEXT):
                batch = self.tokenizer.pad(
                    {key: [encoded[key][i] for i in rows] for key in encoded}, return_tensors="pt"
                )
                logits = self.model(**{key: value.to(device) for key, value in batch.items()}).logits
                scores[rows] = torch.sigmoid(logits).float().cpu().numpy()
        return scores


def length_batches(lengths: Sequence[int], max_texts: int, max_tokens: int) -> list[list[int]]:
    """Indices by ascending length, cut into batches of at most `max_texts` texts and `max_tokens` padded
    tokens (a batch pads to its longest text, so long texts go in smaller batches)."""
    order = np.argsort(lengths, kind="stable").tolist()
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) == max_texts or (len(current) + 1) * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def model_max_length(model: Any, tokenizer: Any) -> int:
    """The tokenizer's max length, unless it is a placeholder or exceeds the model's position embeddings."""
    positions = int(getattr(model.config, "max_position_embeddings", 512))
    declared = int(getattr(tokenizer, "model_max_length", positions))
    return min(declared, positions)
