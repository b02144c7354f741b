"""Train the fast scorer: hashed n-gram TF-IDF, one logistic regression per label, stacked, calibrated.

1. Normalise every training text; idf over all of them (rounded to float16, as shipped).
2. Per label, a logistic regression on the rows of every file that carries the label, with identity-term
   instance weights (moderation/training/lexicons.py).
3. Stacking: each label's final score is a logistic regression over all four labels' scores, fitted on
   out-of-fold scores of the training rows (folds by a hash of the row id). It is linear in the
   features, so it is folded into one weight matrix: scoring stays one sparse product.
4. Weights rounded to float16; then Platt scaling per label on the label's dev rows, scored by the
   shipped scorer itself, so probabilities mean what they say.
5. Thresholds per label: the lowest (on a 0.01 grid) whose dev precision reaches the target.

Fixed folds, liblinear with a fixed seed and sorted inputs make the same data give the same files.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
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
from moderation.training.data import CALIBRATION_SOURCES, LABEL_SOURCES, LabelSource, Table, read_table
from moderation.training.lexicons import IDENTITY_TERMS, valence_classes

LABELS: tuple[str, ...] = ("toxicity", "insult", "identity_attack", "obscene")
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
    folds: int = 5
    seed: int = 0
    identity_weight_cap: dict[str, float] = field(
        default_factory=lambda: {"toxicity": 10.0, "insult": 10.0, "obscene": 10.0}
    )
    """Largest instance weight for a negative row that mentions an identity term (off where not listed:
    for identity_attack, naming a group is part of the signal)."""
    target_precision: dict[str, float] = field(
        default_factory=lambda: {"toxicity": 0.8, "insult": 0.8, "obscene": 0.8, "identity_attack": 0.5}
    )
    """Dev precision each label's threshold must reach. identity_attack reaches 0.8 only at ~3% recall,
    and hate is what moderators most want to see, so its flag asks for 0.5."""
    label_sources: dict[str, tuple[LabelSource, ...]] = field(default_factory=lambda: dict(LABEL_SOURCES))
    calibration_sources: dict[str, tuple[LabelSource, ...]] = field(default_factory=lambda: dict(CALIBRATION_SOURCES))

    def precision_for(self, label: str) -> float:
        return self.target_precision.get(label, DEFAULT_PRECISION)


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float
    target_precision: float
    precision: float
    recall: float
    positives: int
    rows: int


@dataclass
class Corpus:
    """Normalised texts and their feature matrix, per file."""

    tables: dict[str, Table]
    normalised: dict[str, list[str]]
    matrices: dict[str, sp.csr_matrix] = field(default_factory=dict)


def train_fast(
    data_dir: Path, out_dir: Path, settings: TrainSettings | None = None, progress: Progress | None = None
) -> tuple[FastModel, list[Threshold]]:
    """Train from `data_dir`'s train files, calibrate on its dev files, write the model to `out_dir`."""
    settings = settings or TrainSettings()
    say = progress or (lambda _: None)
    families = sorted({s.family for sources in settings.label_sources.values() for s in sources})
    dev_families = sorted({s.family for sources in settings.calibration_sources.values() for s in sources})
    labels = tuple(label for label in LABELS if label in settings.label_sources)
    word_classes = valence_classes()

    say(f"reading and normalising {', '.join(families)}")
    train = _corpus({f: read_table(data_dir, f, "train") for f in families})
    idf = compute_idf([t for f in families for t in train.normalised[f]], settings.spec, word_classes)
    for family in families:
        train.matrices[family] = feature_matrix(train.normalised[family], settings.spec, idf, word_classes)

    say("fitting one regression per label")
    weights, intercepts = _fit_labels(train, labels, settings, rows=None)
    say(f"stacking on {settings.folds}-fold out-of-fold scores")
    stack, stack_intercepts = _fit_stack(train, labels, settings)
    folded = (weights @ stack.T).astype(np.float16)
    folded_intercepts = (intercepts @ stack.T + stack_intercepts).astype(np.float32)

    say("calibrating on the dev files")
    info: dict[str, Any] = {
        "training": _provenance(train.tables, settings),
        "stacking": {label: [round(float(v), 6) for v in stack[i]] for i, label in enumerate(labels)},
    }
    uncalibrated = FastModel(
        labels=labels,
        spec=settings.spec,
        idf=idf,
        weights=folded,
        intercepts=folded_intercepts,
        calibration={label: Calibration(1.0, 0.0) for label in labels},
        word_classes=word_classes,
        info={},
    )
    dev = _corpus({f: read_table(data_dir, f, "dev") for f in dev_families})
    calibration = _calibrate(uncalibrated, dev, settings)
    model = replace(uncalibrated, calibration=calibration, info=info)
    thresholds = _thresholds(model, dev, settings)
    info["calibration_data"] = {label: [s.description for s in settings.calibration_sources[label]] for label in labels}
    info["thresholds"] = {t.label: t.__dict__ for t in thresholds}
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
    for source in settings.label_sources[label]:
        keep = rows[source.family] if rows is not None else np.ones(len(train.tables[source.family]), dtype=bool)
        matrices.append(train.matrices[source.family][keep])
        targets.append(train.tables[source.family].positive(source.columns)[keep])
        texts.extend(t for t, k in zip(train.normalised[source.family], keep, strict=True) if k)
    return sp.vstack(matrices, format="csr"), np.concatenate(targets), texts


def _fit_labels(
    train: Corpus, labels: Sequence[str], settings: TrainSettings, rows: dict[str, npt.NDArray[np.bool_]] | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    weights = np.zeros((settings.spec.n_features, len(labels)))
    intercepts = np.zeros(len(labels))
    for i, label in enumerate(labels):
        x, y, texts = _label_rows(train, label, settings, rows)
        sample_weight = identity_weights(texts, y, settings.identity_weight_cap.get(label, 1.0))
        c = settings.c.get(label, DEFAULT_C)
        model = LogisticRegression(C=c, solver="liblinear", max_iter=500, random_state=settings.seed)
        model.fit(x, y, sample_weight=sample_weight)
        weights[:, i] = model.coef_[0]
        intercepts[i] = model.intercept_[0]
    return weights, intercepts


def _fit_stack(
    train: Corpus, labels: Sequence[str], settings: TrainSettings
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    fold_of = {f: fold_ids(table.ids, settings.folds) for f, table in train.tables.items()}
    oof = {f: np.zeros((len(table), len(labels))) for f, table in train.tables.items()}
    for fold in range(settings.folds):
        weights, intercepts = _fit_labels(train, labels, settings, rows={f: ids != fold for f, ids in fold_of.items()})
        for family, matrix in train.matrices.items():
            held = fold_of[family] == fold
            oof[family][held] = matrix[held] @ weights + intercepts
    stack = np.zeros((len(labels), len(labels)))
    stack_intercepts = np.zeros(len(labels))
    for i, label in enumerate(labels):
        sources = settings.label_sources[label]
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


def _dev_rows(
    model: FastModel, dev: Corpus, label: str, settings: TrainSettings
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    scorer = FastScorer(model=model)
    k = model.labels.index(label)
    z, y = [], []
    for source in settings.calibration_sources[label]:
        z.append(scorer.logits(dev.normalised[source.family])[:, k])
        y.append(dev.tables[source.family].positive(source.columns))
    return np.concatenate(z), np.concatenate(y)


def _calibrate(model: FastModel, dev: Corpus, settings: TrainSettings) -> dict[str, Calibration]:
    calibration = {}
    for label in model.labels:
        z, y = _dev_rows(model, dev, label, settings)
        platt = LogisticRegression(C=1e4, solver="lbfgs").fit(z.reshape(-1, 1), y)
        calibration[label] = Calibration(round(float(platt.coef_[0, 0]), 6), round(float(platt.intercept_[0]), 6))
    return calibration


def choose_threshold(probabilities: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], target: float) -> float:
    """The lowest threshold on a 0.01 grid whose precision reaches `target` (0.99 if none does)."""
    for threshold in np.round(np.arange(0.01, 1.0, 0.01), 2):
        flagged = probabilities >= threshold
        if flagged.any() and y[flagged].mean() >= target:
            return float(threshold)
    return 0.99


def _thresholds(model: FastModel, dev: Corpus, settings: TrainSettings) -> list[Threshold]:
    scorer = FastScorer(model=model)
    result = []
    for k, label in enumerate(model.labels):
        p, y = [], []
        for source in settings.calibration_sources[label]:
            p.append(scorer.probabilities(dev.tables[source.family].texts)[:, k])
            y.append(dev.tables[source.family].positive(source.columns))
        probabilities, truth = np.concatenate(p), np.concatenate(y)
        value = choose_threshold(probabilities, truth, settings.precision_for(label))
        flagged = probabilities >= value
        result.append(
            Threshold(
                label=label,
                value=value,
                target_precision=settings.precision_for(label),
                precision=round(float(truth[flagged].mean()) if flagged.any() else 0.0, 4),
                recall=round(float(flagged[truth].mean()), 4),
                positives=int(truth.sum()),
                rows=len(truth),
            )
        )
    return result


def _provenance(tables: dict[str, Table], settings: TrainSettings) -> dict[str, Any]:
    return {
        "files": {table.name + ".csv": {"rows": len(table), "sha256": table.sha256} for table in tables.values()},
        "labels": {label: [s.description for s in sources] for label, sources in settings.label_sources.items()},
        "c": {label: settings.c.get(label, DEFAULT_C) for label in settings.label_sources},
        "stack_c": settings.stack_c,
        "folds": settings.folds,
        "seed": settings.seed,
        "identity_weight_cap": {
            label: settings.identity_weight_cap.get(label, 1.0) for label in settings.label_sources
        },
        "identity_terms": list(IDENTITY_TERMS),
        "valence_lexicon": "VADER (vadersentiment 3.3.2, MIT)",
    }
