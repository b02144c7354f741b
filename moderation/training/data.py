"""The labelled data: which file and column feeds which label, and reading it.

A row is positive at >= 0.5 (the data README's rule). Training reads only `*.train.csv`; dev files
are for calibration, thresholds and the report. bias_madlibs is read only by the report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from moderation.errors import ModerationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
BIAS_FILE = "bias_madlibs_77k"


class TrainingDataError(ModerationError):
    """The labelled data folder or one of its files is missing or malformed."""


@dataclass(frozen=True)
class LabelSource:
    """One file family's columns that give a label: positive when their sum is >= 0.5."""

    family: str
    columns: tuple[str, ...]

    @property
    def description(self) -> str:
        return f"{self.family}:{'+'.join(self.columns)}"


JIGSAW6 = "jigsaw_toxic_6label"

# Detoxify's six labels, each learned only from data that carries that label (human annotations).
# jigsaw_toxic_6label is the only family with all six; the other toxicity files carry `toxicity` too.
LABELS: tuple[str, ...] = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
LABEL_SOURCES: dict[str, tuple[LabelSource, ...]] = {
    "toxicity": (
        LabelSource(JIGSAW6, ("toxicity",)),
        LabelSource("jigsaw_toxic_first20k", ("toxicity",)),
        LabelSource("wiki_toxicity_cat_large", ("toxicity",)),
    ),
    "severe_toxicity": (LabelSource(JIGSAW6, ("severe_toxicity",)),),
    "obscene": (LabelSource(JIGSAW6, ("obscene",)),),
    "threat": (LabelSource(JIGSAW6, ("threat",)),),
    "insult": (LabelSource(JIGSAW6, ("insult",)),),
    "identity_attack": (LabelSource(JIGSAW6, ("identity_attack",)),),
}

# Auxiliary tasks: other data sets' labels, trained alongside and never shown under a Detoxify label's
# name. `attack` (an insult aimed at a participant of the conversation) feeds attack_on_commenter.
AUXILIARY_SOURCES: dict[str, tuple[LabelSource, ...]] = {
    "attack": (LabelSource("kaggle_insults", ("attack",)),),
    # Davidson's hate speech is offensive language too: only "neither" is negative.
    "offensive": (
        LabelSource("olid", ("offensive",)),
        LabelSource("davidson_hate_offensive", ("hate_speech", "offensive_language")),
    ),
    "hate": (LabelSource("davidson_hate_offensive", ("hate_speech",)), LabelSource("olid", ("target_group",))),
}

# Where each output is calibrated and its threshold chosen. jigsaw_toxic_6label was drawn balanced (about
# 22% toxic), so its dev rows are reweighted to natural prevalence (natural_weights); toxicity has a
# natural-prevalence file of its own, jigsaw_toxic_first20k (the first rows of the same Jigsaw file).
CALIBRATION_SOURCES: dict[str, tuple[LabelSource, ...]] = {
    **LABEL_SOURCES,
    "toxicity": (LabelSource("jigsaw_toxic_first20k", ("toxicity",)),),
    **AUXILIARY_SOURCES,
}

# `toxic` in the full Jigsaw 2018 train file: 15,294 of 159,571 comments.
NATURAL_TOXICITY_RATE = 15_294 / 159_571


@dataclass(frozen=True)
class Table:
    """One CSV file: ids, texts and float columns."""

    name: str
    ids: list[str]
    texts: list[str]
    columns: dict[str, npt.NDArray[np.float64]]
    sha256: str
    text_columns: dict[str, list[str]]
    """Columns that are not numbers (bias_madlibs' `template`, wiki's `parent_text`)."""

    def positive(self, columns: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        return np.sum([self.columns[c] for c in columns], axis=0) >= 0.5

    def __len__(self) -> int:
        return len(self.ids)


def read_table(data_dir: Path, family: str, split: str) -> Table:
    """`<family>.<split>.csv` from the data folder."""
    path = data_dir / f"{family}.{split}.csv"
    if not path.is_file():
        raise TrainingDataError(f"{path}: not found; pass --data with the folder of the labelled CSV files")
    raw = path.read_bytes()
    # The limit is process-wide: put it back, so the comment sources' CSV reader keeps its own.
    previous = csv.field_size_limit(sys.maxsize)
    try:
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    finally:
        csv.field_size_limit(previous)
    if not rows or "id" not in rows[0] or "text" not in rows[0]:
        raise TrainingDataError(f"{path}: expected columns id,text,<labels>")
    numeric, other = {}, {}
    for column in rows[0]:
        if column in ("id", "text"):
            continue
        try:
            numeric[column] = np.array([float(row[column]) for row in rows], dtype=np.float64)
        except ValueError:
            other[column] = [row[column] for row in rows]
    return Table(
        name=f"{family}.{split}",
        ids=[row["id"] for row in rows],
        texts=[row["text"] for row in rows],
        columns=numeric,
        sha256=hashlib.sha256(raw).hexdigest(),
        text_columns=other,
    )


def natural_weights(table: Table) -> npt.NDArray[np.float64]:
    """Row weights that give a jigsaw_toxic_6label file the full Jigsaw file's share of toxic comments (its
    subsets were drawn on toxicity; the other labels are nearly all toxic rows, so they scale with it).
    Every other file is at its own prevalence: all ones."""
    if table.name.partition(".")[0] != JIGSAW6:
        return np.ones(len(table))
    toxic = table.positive(("toxicity",))
    rate = float(toxic.mean())
    if rate in (0.0, 1.0):
        return np.ones(len(table))
    return np.where(toxic, NATURAL_TOXICITY_RATE / rate, (1 - NATURAL_TOXICITY_RATE) / (1 - rate))


DEV_FAMILIES = ("jigsaw_toxic_first20k", "kaggle_insults", "olid", "davidson_hate_offensive", "wiki_toxicity_cat_large")


def dev_texts(data_dir: Path, families: tuple[str, ...] = DEV_FAMILIES) -> list[str]:
    """The non-blank texts of these dev files, in file order, with line ends as a text-mode read gives them
    (\r\n and \r as \n): realistic comments for the benchmarks."""
    texts = (text for family in families for text in read_table(data_dir, family, "dev").texts)
    return [text.replace("\r\n", "\n").replace("\r", "\n") for text in texts if text.strip()]
