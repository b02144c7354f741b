"""Train the fast scorer: hashed n-gram TF-IDF, one logistic regression per output, stacked, calibrated.

The outputs are Detoxify's six labels, each learned from the files that carry it (training/data.py's
LABEL_SOURCES), then the auxiliary tasks (AUXILIARY_SOURCES: other data sets' labels, such as `attack`).

1. Normalise every training text; idf over all of them (rounded to float16, as shipped).
2. Per output, a logistic regression on the rows of every file that carries it, with identity-term
   instance weights (moderation/training/lexicons.py).
3. Stacking: each output's final score is a logistic regression over all outputs' scores, fitted on
   out-of-fold scores of the training rows (folds by a hash of the row id). It is linear in the
   features, so it is folded into one weight matrix: scoring stays one sparse product.
4. Weights rounded to float16; then Platt scaling per output on its calibration dev rows, scored by the
   shipped scorer itself, so probabilities mean what they say. jigsaw_toxic_6label's dev rows are
   reweighted to natural prevalence (data.natural_weights) for the calibration and the thresholds.
5. Thresholds per output: the lowest (on a 0.01 grid) whose (reweighted) dev precision reaches the target.

Fixed folds, liblinear with a fixed seed and sorted inputs make the same data give the same files.
"""

from __future__ import annotations

import multiprocessing
import re
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from moderation.scoring.fast import FastScorer
from moderation.scoring.fast_model import Calibration, FastModel, save_model
from moderation.scoring.features import FeatureSpec, document_frequency, featurise
from moderation.scoring.normalise import normalise
from moderation.training.data import (
    AUXILIARY_SOURCES,
    CALIBRATION_SOURCES,
    LABEL_SOURCES,
    LABELS,
    LabelSource,
    Table,
    natural_weights,
    read_table,
)
from moderation.training.decisions import with_decisions
from moderation.training.lexicons import IDENTITY_TERMS, valence_classes

CHUNK = 2000
DEFAULT_C = 4.0
DEFAULT_PRECISION = 0.8

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainSettings:
    """Chosen on a held-out fifth of the train files (never on dev): see docs/model-card-fast.md."""

    spec: FeatureSpec = field(default_factory=FeatureSpec)
    c: dict[str, float] = field(default_factory=lambda: {"identity_attack": 1.0})
    """Inverse L2 strength of a label's regression (DEFAULT_C where not listed)."""
    stack_c: float = 1.0
    folds: int = 3
    seed: int = 0
    workers: int = 4
    """Processes fitting the regressions (the result is the same for any number)."""
    identity_weight_cap: dict[str, float] = field(
        default_factory=lambda: {"toxicity": 10.0, "insult": 10.0, "obscene": 10.0, "attack": 10.0, "offensive": 10.0}
    )
    """Largest instance weight for a negative row that mentions an identity term (off where not listed:
    for identity_attack, naming a group is part of the signal)."""
    target_precision: dict[str, float] = field(
        default_factory=lambda: {"identity_attack": 0.5, "threat": 0.5, "severe_toxicity": 0.5, "obscene": 0.9}
    )
    """Dev precision each output's threshold must reach (DEFAULT_PRECISION where not listed). Hate, threats
    and severe toxicity are rare (about 1%, 0.3% and 1% of natural traffic) and what moderators most
    want to see, so their flags ask for 0.5. Jigsaw's annotators also marked many plain insults obscene
    (half of its short comments with "idiot"), which `insult` covers: obscene asks for 0.9, so that it
    flags swearing rather than name-calling."""
    label_sources: dict[str, tuple[LabelSource, ...]] = field(default_factory=lambda: dict(LABEL_SOURCES))
    auxiliary_sources: dict[str, tuple[LabelSource, ...]] = field(default_factory=lambda: dict(AUXILIARY_SOURCES))
    calibration_sources: dict[str, tuple[LabelSource, ...]] = field(default_factory=lambda: dict(CALIBRATION_SOURCES))

    def precision_for(self, label: str) -> float:
        return self.target_precision.get(label, DEFAULT_PRECISION)

    @property
    def output_sources(self) -> dict[str, tuple[LabelSource, ...]]:
        """Training rows of every output: the labels', then the auxiliary tasks'."""
        return {**self.label_sources, **self.auxiliary_sources}


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float
    target_precision: float
    precision: float
    """On the calibration rows reweighted to natural prevalence (as they are, for files already natural)."""
    recall: float
    positives: int
    found: int
    """Positives at or above the threshold (recall = found / positives, before any reweighting)."""
    rows: int


@dataclass(frozen=True)
class ExtraTraining:
    """A training table that is not a file of the data folder (moderators' decisions), and what the model
    records about it (model.json's `decisions`)."""

    table: Table
    provenance: dict[str, Any]


@dataclass
class Corpus:
    """Normalised texts and their feature matrix, per file."""

    tables: dict[str, Table]
    normalised: dict[str, list[str]]
    matrices: dict[str, sp.csr_matrix] = field(default_factory=dict)


def train_fast(
    data_dir: Path,
    out_dir: Path,
    settings: TrainSettings | None = None,
    progress: Progress | None = None,
    extra: ExtraTraining | None = None,
) -> tuple[FastModel, list[Threshold]]:
    """Train from `data_dir`'s train files (and `extra`'s table: moderators' decisions), calibrate on its dev
    files, write the model to `out_dir`."""
    settings = settings or TrainSettings()
    if extra:
        settings = with_decisions(settings, extra.table)
    say = progress or (lambda _: None)
    families = sorted({s.family for sources in settings.output_sources.values() for s in sources})
    labels = tuple(label for label in LABELS if label in settings.label_sources)
    auxiliary = tuple(settings.auxiliary_sources)
    outputs = labels + auxiliary
    dev_families = sorted({s.family for name in outputs for s in settings.calibration_sources[name]})
    word_classes = valence_classes()

    say(f"reading and normalising {', '.join(families)}")
    given = {extra.table.name.partition(".")[0]: extra.table} if extra else {}
    train = _corpus({f: given[f] if f in given else read_table(data_dir, f, "train") for f in families})
    idf = compute_idf([t for f in families for t in train.normalised[f]], settings.spec, word_classes)
    for family in families:
        train.matrices[family] = feature_matrix(train.normalised[family], settings.spec, idf, word_classes)

    say(
        f"fitting one regression per output ({', '.join(outputs)}) on all rows and for {settings.folds}-fold "
        f"stacking, in {settings.workers} processes"
    )
    fits = _fit_all(train, outputs, settings)
    weights, intercepts = fits[None]
    say("stacking on the out-of-fold scores")
    stack, stack_intercepts = _fit_stack(train, outputs, settings, fits)
    folded = (weights @ stack.T).astype(np.float16)
    folded_intercepts = (intercepts @ stack.T + stack_intercepts).astype(np.float32)

    say("calibrating on the dev files")
    info: dict[str, Any] = {
        "training": _provenance(train.tables, settings),
        "stacking": {name: [round(float(v), 6) for v in stack[i]] for i, name in enumerate(outputs)},
    }
    uncalibrated = FastModel(
        labels=labels,
        spec=settings.spec,
        idf=idf,
        weights=folded,
        intercepts=folded_intercepts,
        calibration={name: Calibration(1.0, 0.0) for name in outputs},
        word_classes=word_classes,
        info={},
        auxiliary=auxiliary,
    )
    dev = _corpus({f: read_table(data_dir, f, "dev") for f in dev_families})
    calibration = _calibrate(uncalibrated, dev, settings)
    model = replace(uncalibrated, calibration=calibration, info=info)
    thresholds = _thresholds(model, dev, settings)
    info["calibration_data"] = {name: [s.description for s in settings.calibration_sources[name]] for name in outputs}
    info["thresholds"] = {t.label: t.__dict__ for t in thresholds}
    if extra:
        info["decisions"] = extra.provenance
    save_model(model, out_dir)
    say(f"wrote {out_dir} ({model.version})")
    return model, thresholds


def _corpus(tables: dict[str, Table]) -> Corpus:
    return Corpus(tables=tables, normalised={f: [normalise(t) for t in table.texts] for f, table in tables.items()})


def compute_idf(normalised: Sequence[str], spec: FeatureSpec, word_classes: dict[str, str]) -> npt.NDArray[np.float32]:
    """Smoothed idf, ln((1 + n) / (1 + df)) + 1, rounded to float16 as it is shipped."""
    df = np.zeros(spec.n_features, dtype=np.int64)
    for start in range(0, len(normalised), CHUNK):
        df += document_frequency(normalised[start : start + CHUNK], spec, word_classes)
    idf = np.log((1.0 + len(normalised)) / (1.0 + df)) + 1.0
    return idf.astype(np.float16).astype(np.float32)


def feature_matrix(
    normalised: Sequence[str], spec: FeatureSpec, idf: npt.NDArray[np.float32], word_classes: dict[str, str]
) -> sp.csr_matrix:
    parts = []
    for start in range(0, len(normalised), CHUNK):
        batch = featurise(normalised[start : start + CHUNK], spec, idf, word_classes)
        parts.append(sp.csr_matrix((batch.values, (batch.docs, batch.columns)), shape=(batch.n_docs, spec.n_features)))
    return sp.vstack(parts, format="csr")


def _label_rows(
    train: Corpus, label: str, settings: TrainSettings, rows: dict[str, npt.NDArray[np.bool_]] | None
) -> tuple[sp.csr_matrix, npt.NDArray[np.bool_], list[str]]:
    matrices, targets = [], []
    texts: list[str] = []
    for source in settings.output_sources[label]:
        keep = rows[source.family] if rows is not None else np.ones(len(train.tables[source.family]), dtype=bool)
        matrices.append(train.matrices[source.family][keep])
        targets.append(train.tables[source.family].positive(source.columns)[keep])
        texts.extend(t for t, k in zip(train.normalised[source.family], keep, strict=True) if k)
    return sp.vstack(matrices, format="csr"), np.concatenate(targets), texts


Fits = dict[int | None, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]
"""Per fold (None: all rows), the (features, outputs) weights and the intercepts fitted without that fold."""

# What forked workers read: set just before the pool starts, so nothing large is pickled to them.
_SHARED: tuple[Corpus, TrainSettings, dict[str, npt.NDArray[np.int64]]] | None = None


def _fit_all(train: Corpus, outputs: Sequence[str], settings: TrainSettings) -> Fits:
    """Every output's regression on all rows and on each fold's complement, in `settings.workers` processes.
    Each fit is independent and seeded, so the result does not depend on the number of processes."""
    global _SHARED
    fold_of = {f: fold_ids(table.ids, settings.folds) for f, table in train.tables.items()}
    tasks = [(fold, label) for fold in (None, *range(settings.folds)) for label in outputs]
    _SHARED = (train, settings, fold_of)
    try:
        if settings.workers > 1:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(settings.workers, mp_context=context) as pool:
                fitted = list(pool.map(_fit_one, tasks))
        else:
            fitted = [_fit_one(task) for task in tasks]
    finally:
        _SHARED = None
    fits: Fits = {}
    for fold in (None, *range(settings.folds)):
        members = [fit for (f, _), fit in zip(tasks, fitted, strict=True) if f == fold]
        fits[fold] = (np.stack([w for w, _ in members], axis=1), np.array([b for _, b in members]))
    return fits


def _fit_one(task: tuple[int | None, str]) -> tuple[npt.NDArray[np.float64], float]:
    """One output's logistic regression, on all rows (fold None) or on all rows but one fold's."""
    assert _SHARED is not None, "set by _fit_all"
    train, settings, fold_of = _SHARED
    fold, label = task
    rows = None if fold is None else {f: ids != fold for f, ids in fold_of.items()}
    x, y, texts = _label_rows(train, label, settings, rows)
    sample_weight = identity_weights(texts, y, settings.identity_weight_cap.get(label, 1.0))
    c = settings.c.get(label, DEFAULT_C)
    model = LogisticRegression(C=c, solver="liblinear", max_iter=500, random_state=settings.seed)
    model.fit(x, y, sample_weight=sample_weight)
    return np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0])


def _fit_stack(
    train: Corpus, labels: Sequence[str], settings: TrainSettings, fits: Fits
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    fold_of = {f: fold_ids(table.ids, settings.folds) for f, table in train.tables.items()}
    oof = {f: np.zeros((len(table), len(labels))) for f, table in train.tables.items()}
    for fold in range(settings.folds):
        weights, intercepts = fits[fold]
        for family, matrix in train.matrices.items():
            held = fold_of[family] == fold
            oof[family][held] = matrix[held] @ weights + intercepts
    stack = np.zeros((len(labels), len(labels)))
    stack_intercepts = np.zeros(len(labels))
    for i, label in enumerate(labels):
        sources = settings.output_sources[label]
        z = np.concatenate([oof[s.family] for s in sources])
        y = np.concatenate([train.tables[s.family].positive(s.columns) for s in sources])
        model = LogisticRegression(C=settings.stack_c, solver="liblinear", random_state=settings.seed).fit(z, y)
        stack[i] = model.coef_[0]
        stack_intercepts[i] = model.intercept_[0]
    return stack, stack_intercepts


def fold_ids(ids: Sequence[str], folds: int) -> npt.NDArray[np.int64]:
    return np.array([zlib.crc32(i.encode("utf-8")) % folds for i in ids], dtype=np.int64)


_TERMS = re.compile(r"\b(" + "|".join(re.escape(t) for t in IDENTITY_TERMS) + r")\b")


def identity_weights(normalised: Sequence[str], y: npt.NDArray[np.bool_], cap: float) -> npt.NDArray[np.float64]:
    """Weights that give each identity term the label's overall positive share among its rows."""
    weights = np.ones(len(y))
    if cap <= 1.0 or not y.any() or y.all():
        return weights
    rate = float(y.mean())
    found = [set(_TERMS.findall(text)) for text in normalised]
    positives: dict[str, int] = {}
    negatives: dict[str, int] = {}
    for terms, positive in zip(found, y, strict=True):
        counter = positives if positive else negatives
        for term in terms:
            counter[term] = counter.get(term, 0) + 1
    factor = {
        term: min(cap, positives.get(term, 0) * (1 - rate) / (rate * negatives[term]))
        for term in negatives
        if positives.get(term, 0) / (positives.get(term, 0) + negatives[term]) > rate
    }
    for i, (terms, positive) in enumerate(zip(found, y, strict=True)):
        if not positive and terms:
            weights[i] = max([1.0, *(factor.get(t, 1.0) for t in terms)])
    return weights


@dataclass(frozen=True)
class DevRows:
    """One output's calibration rows: scores, truth, and weights that bring them to natural prevalence."""

    scores: npt.NDArray[np.float64]
    truth: npt.NDArray[np.bool_]
    weights: npt.NDArray[np.float64]


def calibration_rows(
    values: dict[str, npt.NDArray[np.float64]],
    tables: dict[str, Table],
    column: int,
    sources: Sequence[LabelSource],
) -> DevRows:
    """Column `column` of each source family's (rows, outputs) `values`, with truth and weights."""
    return DevRows(
        scores=np.concatenate([values[s.family][:, column] for s in sources]),
        truth=np.concatenate([tables[s.family].positive(s.columns) for s in sources]),
        weights=np.concatenate([natural_weights(tables[s.family]) for s in sources]),
    )


def _calibrate(model: FastModel, dev: Corpus, settings: TrainSettings) -> dict[str, Calibration]:
    scorer = FastScorer(model=model)
    logits = {family: scorer.logits(texts) for family, texts in dev.normalised.items()}
    calibration = {}
    for k, name in enumerate(model.outputs):
        calibration[name] = fit_platt(calibration_rows(logits, dev.tables, k, settings.calibration_sources[name]))
    return calibration


def fit_platt(rows: DevRows) -> Calibration:
    """Platt scaling of one output's scores (logits) on its weighted calibration rows."""
    platt = LogisticRegression(C=1e4, solver="lbfgs")
    platt.fit(rows.scores.reshape(-1, 1), rows.truth, sample_weight=rows.weights)
    return Calibration(round(float(platt.coef_[0, 0]), 6), round(float(platt.intercept_[0]), 6))


def weighted_precision(
    flagged: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_], weights: npt.NDArray[np.float64]
) -> float:
    total = float(weights[flagged].sum())
    return float(weights[flagged & truth].sum()) / total if total > 0 else 0.0


def choose_threshold(
    probabilities: npt.NDArray[np.float64],
    y: npt.NDArray[np.bool_],
    target: float,
    weights: npt.NDArray[np.float64] | None = None,
) -> float:
    """The lowest threshold on a 0.01 grid whose (weighted) precision reaches `target` (0.99 if none does)."""
    w = np.ones(len(y)) if weights is None else weights
    for threshold in np.round(np.arange(0.01, 1.0, 0.01), 2):
        flagged = probabilities >= threshold
        if flagged.any() and weighted_precision(flagged, y, w) >= target:
            return float(threshold)
    return 0.99


def _thresholds(model: FastModel, dev: Corpus, settings: TrainSettings) -> list[Threshold]:
    scorer = FastScorer(model=model)
    probabilities = {family: scorer.probabilities(table.texts) for family, table in dev.tables.items()}
    result = []
    for k, name in enumerate(model.outputs):
        rows = calibration_rows(probabilities, dev.tables, k, settings.calibration_sources[name])
        value = choose_threshold(rows.scores, rows.truth, settings.precision_for(name), rows.weights)
        flagged = rows.scores >= value
        result.append(
            Threshold(
                label=name,
                value=value,
                target_precision=settings.precision_for(name),
                precision=round(weighted_precision(flagged, rows.truth, rows.weights), 4),
                recall=round(float(flagged[rows.truth].mean()) if rows.truth.any() else 0.0, 4),
                positives=int(rows.truth.sum()),
                found=int((flagged & rows.truth).sum()),
                rows=len(rows.truth),
            )
        )
    return result


def _provenance(tables: dict[str, Table], settings: TrainSettings) -> dict[str, Any]:
    return {
        "files": {table.name + ".csv": {"rows": len(table), "sha256": table.sha256} for table in tables.values()},
        "labels": {label: [s.description for s in sources] for label, sources in settings.label_sources.items()},
        "auxiliary": {name: [s.description for s in sources] for name, sources in settings.auxiliary_sources.items()},
        "c": {name: settings.c.get(name, DEFAULT_C) for name in settings.output_sources},
        "stack_c": settings.stack_c,
        "folds": settings.folds,
        "seed": settings.seed,
        "identity_weight_cap": {name: settings.identity_weight_cap.get(name, 1.0) for name in settings.output_sources},
        "identity_terms": list(IDENTITY_TERMS),
        "valence_lexicon": "VADER (vadersentiment 3.3.2, MIT)",
    }
