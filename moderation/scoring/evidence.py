"""Why the fast model scored a comment: the words whose n-grams added most to a label's score.

A linear model's score is a sum over features of value x weight. Each word n-gram's share goes to
its words, each character n-gram's share to the characters it covers and so to the words they are
in. The words with the largest positive totals are the evidence, mapped back to the original text
through the normalisation's character map. A whole batch is done in one pass of array operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from moderation.models import Span
from moderation.scoring.features import WORD, Hashed, hash_chars, hash_words, weigh
from moderation.scoring.normalise import Tracked, normalise_tracked, whole_word_span

if TYPE_CHECKING:
    from moderation.scoring.fast_model import FastModel

MAX_SPANS = 3
MIN_SHARE_OF_TOP = 0.5

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def top_spans(text: str, model: FastModel, label_indices: Sequence[int]) -> dict[str, list[Span]]:
    """For each label index, the original-text spans of the words that drove its score up."""
    return batch_top_spans([text], model, [label_indices])[0]


def batch_top_spans(
    texts: Sequence[str], model: FastModel, label_indices: Sequence[Sequence[int]]
) -> list[dict[str, list[Span]]]:
    """top_spans for many texts at once (label_indices[i] are the labels wanted for texts[i])."""
    tracked = [normalise_tracked(text) for text in texts]
    words = [[m.span() for m in WORD.finditer(t.text)] for t in tracked]
    n_words = np.array([len(w) for w in words], dtype=np.int64)
    first_word = np.cumsum(n_words) - n_words
    spec = model.spec
    tokens = [[t.text[a:b] for a, b in spans] for t, spans in zip(tracked, words, strict=True)]
    word_hits = hash_words(tokens, spec, model.word_classes)
    char_hits = hash_chars([t.text for t in tracked], spec)
    features = weigh(len(texts), [word_hits, char_hits], spec, model.idf)
    keys = features.docs * np.int64(spec.n_features) + features.columns
    # Only the labels some text of the batch asks for: per_word's column j is label wanted[j].
    wanted = sorted({k for indices in label_indices for k in indices})
    column = {k: j for j, k in enumerate(wanted)}

    total = int(n_words.sum())
    per_word = _from_word_ngrams(word_hits, keys, features.values, model, wanted, first_word, total)
    per_word += _from_char_ngrams(char_hits, keys, features.values, model, wanted, tracked, words)

    results: list[dict[str, list[Span]]] = []
    for i, (t, spans) in enumerate(zip(tracked, words, strict=True)):
        evidence: dict[str, list[Span]] = {}
        rows = per_word[first_word[i] : first_word[i] + n_words[i]]
        for k in label_indices[i]:
            strongest = _strongest(rows[:, column[k]])
            chosen = sorted({whole_word_span(texts[i], *t.original_span(*spans[j])) for j in strongest})
            if chosen:
                evidence[model.labels[k]] = chosen
        results.append(evidence)
    return results


def _shares(
    hits: Hashed, keys: Ints, values: npt.NDArray[np.float32], model: FastModel, wanted: Sequence[int]
) -> Floats:
    """(occurrences, wanted labels): each occurrence's share of its feature's contribution, per character
    or word it covers (a feature seen twice in a text splits in two)."""
    hit_keys = hits.docs * np.int64(model.spec.n_features) + hits.columns
    _, inverse, counts = np.unique(hit_keys, return_inverse=True, return_counts=True)
    value = values[np.searchsorted(keys, hit_keys)].astype(np.float64)
    contribution = np.take(model.weights, hits.columns, axis=0)[:, wanted].astype(np.float64) * value[:, None]
    return contribution / (counts[inverse] * hits.lengths)[:, None]


def _from_word_ngrams(
    hits: Hashed,
    keys: Ints,
    values: npt.NDArray[np.float32],
    model: FastModel,
    wanted: Sequence[int],
    first_word: Ints,
    total: int,
) -> Floats:
    shares = _shares(hits, keys, values, model, wanted)
    word = first_word[hits.docs] + hits.starts
    second = hits.lengths == 2
    columns = [
        np.bincount(word, weights=shares[:, k], minlength=total)
        + np.bincount(word[second] + 1, weights=shares[second, k], minlength=total)
        for k in range(shares.shape[1])
    ]
    return np.stack(columns, axis=1).astype(np.float64) if columns else np.zeros((total, 0))


def _from_char_ngrams(
    hits: Hashed,
    keys: Ints,
    values: npt.NDArray[np.float32],
    model: FastModel,
    wanted: Sequence[int],
    tracked: Sequence[Tracked],
    words: Sequence[Sequence[tuple[int, int]]],
) -> Floats:
    shares = _shares(hits, keys, values, model, wanted)
    # Each text gets len + 3 slots (positions -1 .. len + 1: padding and one past the end). A running sum
    # of +share where an n-gram starts and -share where it ends gives each character's total; a second
    # running sum gives prefix sums, so a word's total is prefix[end] - prefix[start].
    stride = np.array([len(t.text) + 3 for t in tracked], dtype=np.int64)
    base = np.cumsum(stride) - stride
    size = int(stride.sum())
    starts = base[hits.docs] + hits.starts + 1
    ends = starts + hits.lengths
    bounds = np.array(
        [base[i] + pos + 1 for i, spans in enumerate(words) for span in spans for pos in span], dtype=np.int64
    )
    columns = []
    for k in range(shares.shape[1]):
        delta = np.bincount(starts, weights=shares[:, k], minlength=size) - np.bincount(
            ends, weights=shares[:, k], minlength=size
        )
        prefix = np.concatenate([[0.0], np.cumsum(np.cumsum(delta))])
        at_bounds = prefix[bounds]
        columns.append(at_bounds[1::2] - at_bounds[0::2])
    return np.stack(columns, axis=1).astype(np.float64) if columns else np.zeros((len(bounds) // 2, 0))


def _strongest(per_word: Floats) -> list[int]:
    if len(per_word) == 0:
        return []
    order = np.argsort(-per_word, kind="stable")
    best = per_word[order[0]]
    if best <= 0:
        return []
    return [int(i) for i in order[:MAX_SPANS] if per_word[i] > 0 and per_word[i] >= MIN_SHARE_OF_TOP * best]
