"""Hashed n-gram features for the fast scorer, in numpy only (no vocabulary to ship, nothing to import).

A comment's features are two blocks, each L2-normalised: word 1-2-grams and character 2-5-grams of the
normalised text (character n-grams run over the whole text padded with one space each side, so they
also see word boundaries). Each n-gram is hashed to a column; its value is the sublinear term
frequency (1 + ln count) times the column's inverse document frequency. The hash is defined here
(CRC-32 for words, a polynomial hash for characters, then a 64-bit mixer), so it is the same on every
machine and Python version.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

WORD = re.compile(r"\w+(?:'\w+)*")
_B = np.uint64(0x100000001B3)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_BIGRAM = np.uint64(0x9E3779B97F4A7C15)
_S33 = np.uint64(33)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FeatureSpec:
    """How texts become columns; stored in the model's JSON so scoring matches training."""

    word_bits: int = 19
    char_bits: int = 19
    char_min: int = 2
    char_max: int = 5
    word_bigrams: bool = True

    @property
    def n_word(self) -> int:
        return 1 << self.word_bits

    @property
    def n_features(self) -> int:
        return (1 << self.word_bits) + (1 << self.char_bits)

    def to_json(self) -> dict[str, int | bool]:
        return asdict(self)


@dataclass(frozen=True)
class Hashed:
    """Feature occurrences of a batch: document, column and (for evidence) position of each n-gram."""

    docs: IntArray
    columns: IntArray
    starts: IntArray
    """Start in the normalised text (characters for char n-grams, token index for word n-grams)."""
    lengths: IntArray
    """Characters (char n-grams) or tokens (word n-grams) covered."""


@dataclass(frozen=True)
class Features:
    """A sparse batch in CSR order: rows sorted by document, columns sorted within a document."""

    n_docs: int
    docs: IntArray
    columns: IntArray
    values: FloatArray


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    values = values ^ (values >> _S33)
    values = values * _M1
    values = values ^ (values >> _S33)
    values = values * _M2
    return values ^ (values >> _S33)


def _bucket(hashes: npt.NDArray[np.uint64], bits: int) -> IntArray:
    return (_mix(hashes) >> np.uint64(64 - bits)).astype(np.int64)


class _Crc32Cache(dict[str, int]):
    """Token -> CRC-32 of its UTF-8 bytes, computed on first use: comments reuse their words, so most
    tokens cost one dict lookup. Emptied when it grows past MAX_CACHED_TOKENS (memory stays bounded in
    a long-running process)."""

    def __missing__(self, token: str) -> int:
        if len(self) >= MAX_CACHED_TOKENS:
            self.clear()
        value = self[token] = zlib.crc32(token.encode("utf-8"))
        return value


MAX_CACHED_TOKENS = 200_000
_CRC = _Crc32Cache()


def word_tokens(text: str) -> list[str]:
    return WORD.findall(text)


def hash_words(
    token_lists: Sequence[Sequence[str]], spec: FeatureSpec, word_classes: Mapping[str, str] | None = None
) -> Hashed:
    """Word 1-2-grams; a word listed in `word_classes` also counts as its class (a pseudo-word)."""
    counts = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    flat = list(chain.from_iterable(token_lists))
    crc = np.fromiter(map(_CRC.__getitem__, flat), dtype=np.uint64, count=len(flat))
    docs = np.repeat(np.arange(len(token_lists), dtype=np.int64), counts)
    positions = np.arange(len(flat), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    unigram = crc + np.uint64(1)
    parts_docs = [docs]
    parts_hash = [unigram]
    parts_start = [positions]
    parts_len = [np.ones(len(flat), dtype=np.int64)]
    if word_classes:
        where = np.flatnonzero(np.fromiter(map(word_classes.__contains__, flat), dtype=bool, count=len(flat)))
        found = [word_classes[flat[i]] for i in where.tolist()]
        classes = np.fromiter(map(_CRC.__getitem__, found), dtype=np.uint64, count=len(found))
        parts_docs.append(docs[where])
        parts_hash.append(classes + np.uint64(1))
        parts_start.append(positions[where])
        parts_len.append(np.ones(len(found), dtype=np.int64))
    if spec.word_bigrams and len(flat) > 1:
        same_doc = docs[1:] == docs[:-1]
        bigram = (unigram[:-1] * _BIGRAM + unigram[1:])[same_doc]
        parts_docs.append(docs[:-1][same_doc])
        parts_hash.append(bigram)
        parts_start.append(positions[:-1][same_doc])
        parts_len.append(np.full(len(bigram), 2, dtype=np.int64))
    return Hashed(
        docs=np.concatenate(parts_docs),
        columns=_bucket(np.concatenate(parts_hash), spec.word_bits),
        starts=np.concatenate(parts_start),
        lengths=np.concatenate(parts_len),
    )


def hash_chars(texts: Sequence[str], spec: FeatureSpec, positions: bool = True) -> Hashed:
    """Character n-grams of the texts padded with a space each side (positions: for evidence only)."""
    padded = [f" {text} " for text in texts]
    lengths = np.fromiter((len(t) for t in padded), dtype=np.int64, count=len(padded))
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc_of = np.repeat(np.arange(len(padded), dtype=np.int64), lengths)
    doc_end = np.repeat(np.cumsum(lengths), lengths)
    index = np.arange(len(codes), dtype=np.int64)
    left = doc_end - index
    position = index - np.repeat(np.cumsum(lengths) - lengths, lengths) - 1 if positions else index
    rolling = codes.copy()
    parts_docs, parts_hash, parts_start, parts_len = [], [], [], []
    for n in range(1, spec.char_max + 1):
        if n > 1:
            rolling = rolling[:-1] * _B + codes[n - 1 :]
        if n < spec.char_min:
            continue
        keep = left[: len(rolling)] >= n
        parts_docs.append(doc_of[: len(rolling)][keep])
        parts_hash.append(rolling[keep] ^ np.uint64(n))
        if positions:
            parts_start.append(position[: len(rolling)][keep])
            parts_len.append(np.full(int(keep.sum()), n, dtype=np.int64))
    columns = _bucket(np.concatenate(parts_hash), spec.char_bits) + spec.n_word
    empty = np.zeros(0, dtype=np.int64)
    return Hashed(
        docs=np.concatenate(parts_docs),
        columns=columns,
        starts=np.concatenate(parts_start) if positions else empty,
        lengths=np.concatenate(parts_len) if positions else empty,
    )


def featurise(
    normalised: Sequence[str], spec: FeatureSpec, idf: FloatArray, word_classes: Mapping[str, str] | None = None
) -> Features:
    """TF-IDF rows for already-normalised texts: each block L2-normalised, blocks side by side."""
    words = hash_words([word_tokens(text) for text in normalised], spec, word_classes)
    chars = hash_chars(normalised, spec, positions=False)
    return weigh(len(normalised), [words, chars], spec, idf)


@dataclass(frozen=True)
class Weighed:
    """One block's TF-IDF values, in (document, column) order, L2-normalised per text."""

    docs: IntArray
    columns: IntArray
    values: FloatArray
    per_doc: IntArray
    """How many of the block's columns each document has."""


def weigh_block(n_docs: int, block: Hashed, spec: FeatureSpec, idf: FloatArray) -> Weighed:
    """Sublinear counts times idf of one block's occurrences, L2-normalised per text."""
    n = spec.n_features
    # Sorting (document, column) keys is most of the cost: 32-bit keys sort faster when they fit.
    key_type = np.int32 if n_docs * n < 2**31 else np.int64
    keys, counts = np.unique((block.docs * np.int64(n) + block.columns).astype(key_type), return_counts=True)
    keys = keys.astype(np.int64)
    if n & (n - 1) == 0:  # a power of two (the usual case): a shift and a mask instead of a division
        docs, columns = keys >> np.int64(n.bit_length() - 1), keys & np.int64(n - 1)
    else:
        docs = keys // n
        columns = keys - docs * n
    values = ((1.0 + np.log(counts)) * idf[columns]).astype(np.float32)
    norms = np.sqrt(np.bincount(docs, weights=values.astype(np.float64) ** 2, minlength=n_docs))
    values = values / np.maximum(norms[docs], 1e-12).astype(np.float32)
    return Weighed(docs, columns, values, np.bincount(docs, minlength=n_docs))


def featurise_blocks(
    normalised: Sequence[str], spec: FeatureSpec, idf: FloatArray, word_classes: Mapping[str, str] | None = None
) -> list[Weighed]:
    """The two blocks of `featurise`, each on its own (for a linear model, the sum over blocks is the
    same as over the merged row, without the work of merging)."""
    words = hash_words([word_tokens(text) for text in normalised], spec, word_classes)
    chars = hash_chars(normalised, spec, positions=False)
    return [weigh_block(len(normalised), block, spec, idf) for block in (words, chars)]


def weigh(n_docs: int, blocks: Sequence[Hashed], spec: FeatureSpec, idf: FloatArray) -> Features:
    """TF-IDF values of hashed occurrences: sublinear counts times idf, each block L2-normalised per text."""
    return merge(n_docs, [weigh_block(n_docs, block, spec, idf) for block in blocks])


def merge(n_docs: int, weighed: Sequence[Weighed]) -> Features:
    """The blocks side by side, as one CSR batch."""
    # Interleave the blocks by document (each is sorted by document, then column) without a sort.
    doc_sizes = np.sum([block.per_doc for block in weighed], axis=0)
    doc_start = np.cumsum(doc_sizes) - doc_sizes
    taken = np.zeros(n_docs, dtype=np.int64)
    order = np.empty(int(doc_sizes.sum()), dtype=np.int64)
    offset = 0
    for block in weighed:
        docs, counts_here = block.docs, block.per_doc
        block_start = np.cumsum(counts_here) - counts_here
        rank = np.arange(len(docs), dtype=np.int64) - block_start[docs]
        order[doc_start[docs] + taken[docs] + rank] = np.arange(offset, offset + len(docs))
        taken += counts_here
        offset += len(docs)
    return Features(
        n_docs=n_docs,
        docs=np.concatenate([block.docs for block in weighed])[order],
        columns=np.concatenate([block.columns for block in weighed])[order],
        values=np.concatenate([block.values for block in weighed])[order].astype(np.float32),
    )


def document_frequency(
    normalised: Sequence[str], spec: FeatureSpec, word_classes: Mapping[str, str] | None = None
) -> IntArray:
    """In how many texts each column occurs (for the idf)."""
    df = np.zeros(spec.n_features, dtype=np.int64)
    words = hash_words([word_tokens(t) for t in normalised], spec, word_classes)
    for block in (words, hash_chars(normalised, spec)):
        keys = np.unique(block.docs * np.int64(spec.n_features) + block.columns)
        df += np.bincount(keys % np.int64(spec.n_features), minlength=spec.n_features)
    return df
