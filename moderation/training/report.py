"""The fast model's evaluation report (reports/fast-model.md), generated from the dev files.

Per output and data set: ROC-AUC and average precision of the shipped model and of two baselines,
plain TF-IDF + logistic regression trained on that data set's train file, and the alt-profanity-check
package. The six labels are measured on jigsaw_toxic_6label dev (toxicity on its other files too); the
auxiliary outputs on their own dev files, under their own names. Then thresholds, calibration, an
honest (cross-fitted) check of the thresholds' precision, and identity-term bias on bias_madlibs.
jigsaw_toxic_6label was drawn balanced: thresholds and calibration figures reweight its rows to natural
prevalence (training/data.py's natural_weights); AUC and AP are on the rows as they are.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from moderation.scoring.fast import FastScorer
from moderation.scoring.fast_model import ARRAYS_FILE, META_FILE, FastModel, load_model
from moderation.scoring.normalise import normalise
from moderation.training.data import (
    BIAS_FILE,
    CALIBRATION_SOURCES,
    JIGSAW6,
    LABELS,
    Table,
    natural_weights,
    read_table,
)
from moderation.training.fast import DevRows, calibration_rows, choose_threshold, weighted_precision

Progress = Callable[[str], None]
Scores = npt.NDArray[np.float64]
# alt-profanity-check's README: trained on Davidson et al.'s data and the Jigsaw Toxic Comment
# Classification Challenge, so it has seen these files' rows (dev included): jigsaw_toxic_6label and
# jigsaw_toxic_first20k are both drawn from that challenge's train file.
PROFANITY_CHECK_TRAINED_ON = ("davidson_hate_offensive", JIGSAW6, "jigsaw_toxic_first20k")


@dataclass(frozen=True)
class EvalSet:
    output: str
    """A label, or an auxiliary output (shown as `auxiliary: <name>`)."""
    family: str
    columns: tuple[str, ...]
    target: float | None = None
    note: str = ""
    informational: bool = False
    """Not the output's definition; shown for comparison only."""

    @property
    def title(self) -> str:
        return f"{self.family}.dev `{'+'.join(self.columns)}`"

    @property
    def name(self) -> str:
        return self.output if self.output in LABELS else f"auxiliary: {self.output}"


EVAL_SETS: tuple[EvalSet, ...] = (
    *(EvalSet(label, JIGSAW6, (label,), None, "Jigsaw 2018, balanced subsets") for label in LABELS),
    EvalSet("toxicity", "jigsaw_toxic_first20k", ("toxicity",), 0.97, "natural prevalence"),
    EvalSet("toxicity", "wiki_toxicity_cat_large", ("toxicity",), None, "about 1% positive"),
    EvalSet("attack", "kaggle_insults", ("attack",), 0.88, "insults aimed at a participant"),
    EvalSet("offensive", "olid", ("offensive",), 0.90, "OLID offensive"),
    EvalSet(
        "offensive",
        "davidson_hate_offensive",
        ("hate_speech", "offensive_language"),
        0.95,
        "offensive: hate or offensive language (not `neither`)",
    ),
    EvalSet("hate", "davidson_hate_offensive", ("hate_speech",), None, "hate speech"),
    EvalSet("hate", "olid", ("target_group",), None, "offence aimed at a group"),
)


@dataclass(frozen=True)
class Row:
    eval_set: EvalSet
    positives: int
    rows: int
    auc: dict[str, float]
    ap: dict[str, float]


def write_report(data_dir: Path, model_dir: Path, path: Path, progress: Progress | None = None) -> None:
    say = progress or (lambda _: None)
    model = load_model(model_dir)
    scorer = FastScorer(model=model)
    families = sorted({e.family for e in EVAL_SETS})
    dev = {f: read_table(data_dir, f, "dev") for f in families}
    probabilities = {f: scorer.probabilities(table.texts) for f, table in dev.items()}
    say("baselines: TF-IDF + logistic regression per data set, alt-profanity-check")
    profanity = _profanity_check({f: table.texts for f, table in dev.items()})
    rows = []
    vectorised: dict[str, Vectorised] = {}
    for eval_set in EVAL_SETS:
        table = dev[eval_set.family]
        y = table.positive(eval_set.columns)
        scores = {"fast": probabilities[eval_set.family][:, model.outputs.index(eval_set.output)]}
        if eval_set.family not in vectorised:
            vectorised[eval_set.family] = _vectorise(read_table(data_dir, eval_set.family, "train"), table)
        scores["tfidf_lr"] = _tfidf_baseline(vectorised[eval_set.family], eval_set.columns)
        if profanity is not None:
            scores["profanity_check"] = profanity[eval_set.family]
        rows.append(
            Row(
                eval_set,
                int(y.sum()),
                len(y),
                {k: float(roc_auc_score(y, s)) for k, s in scores.items()},
                {k: float(average_precision_score(y, s)) for k, s in scores.items()},
            )
        )
    say("bias_madlibs")
    bias = read_table(data_dir, BIAS_FILE, "train")
    lines = _header(model, model_dir)
    lines += decisions_section(model)
    lines += _quality(rows, profanity is not None)
    if profanity is not None:
        lines += _contamination(data_dir, profanity, dev)
    lines += _thresholds(model, dev, probabilities)
    lines += _cross_fitted(model, scorer, dev)
    lines += _calibration(model, dev, probabilities)
    lines += _bias(model, scorer, bias, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _header(model: FastModel, model_dir: Path) -> list[str]:
    size = sum((model_dir / name).stat().st_size for name in (ARRAYS_FILE, META_FILE))
    nonzero = int(np.count_nonzero(np.any(model.weights != 0, axis=1)))
    files = model.info.get("training", {}).get("files", {})
    return [
        "# Fast scorer: evaluation report",
        "",
        "Generated by `moderation train fast` (moderation/training/report.py); do not edit by hand.",
        "All figures are on the `*.dev.csv` files, which training never reads; dev data did choose the",
        "calibration and the thresholds, so the threshold precision below is also shown cross-fitted.",
        "",
        f"- model: `{model.version}`, {size / 1e6:.1f} MB on disk, {nonzero:,} of {model.spec.n_features:,} "
        "hashed columns with weights",
        f"- labels: {', '.join(model.labels)}",
        f"- auxiliary outputs (read by the thread layer, never shown as labels): {', '.join(model.auxiliary) or '-'}",
        "- training rows: " + ", ".join(f"{name} {meta['rows']:,}" for name, meta in sorted(files.items())),
        "",
    ]


def decisions_section(model: FastModel) -> list[str]:
    """What the model learned from moderators' decisions (`train fast --decisions`), with its sampling caveat;
    nothing for a model trained from the data folder alone."""
    found = model.info.get("decisions")
    if not found:
        return []
    return [
        "## Moderators' decisions in the training data",
        "",
        f"{found['decided']:,} decided items ({found['rejected']:,} rejected, {found['approved']:,} approved) and "
        f"{found['unflagged_presumed_negative']:,} unflagged comments as presumed negatives; "
        f"{found['skipped']:,} records skipped.",
        "",
        f"**Sampling caveat.** {found['caveat']}",
        "",
    ]


def _quality(rows: Sequence[Row], with_profanity: bool) -> list[str]:
    systems = ["fast", "tfidf_lr"] + (["profanity_check"] if with_profanity else [])
    lines = [
        "## Quality per output and data set",
        "",
        "ROC-AUC and average precision (AP). `tfidf_lr`: scikit-learn TfidfVectorizer (defaults) + "
        "LogisticRegression trained on the same data set's train file and column; `profanity_check`: "
        "alt-profanity-check's `predict_prob`, one score for every label.",
        "",
        "| output | dev set | note | positives / rows | target AUC | "
        + " | ".join(f"AUC {s}" for s in systems)
        + " | "
        + " | ".join(f"AP {s}" for s in systems)
        + " | "
        + " | ".join(f"AUC above {s}" for s in systems[1:])
        + " |",
        "|" + "---|" * (5 + 3 * len(systems) - 1),
    ]
    for row in rows:
        e = row.eval_set
        target = f"{e.target:.2f}" if e.target else "-"
        met = "" if e.target is None else (" (met)" if row.auc["fast"] >= e.target else " (short)")
        verdicts = []
        for system in systems[1:]:
            verdict = "yes" if row.auc["fast"] > row.auc[system] else "no"
            if system == "profanity_check" and e.family in PROFANITY_CHECK_TRAINED_ON:
                verdict += " (baseline trained on these rows)"
            verdicts.append(verdict + (" (not this label's definition)" if e.informational else ""))
        lines.append(
            f"| {e.name} | {e.title} | {e.note} | {row.positives} / {row.rows} | {target}{met} | "
            + " | ".join(f"{row.auc[s]:.4f}" for s in systems)
            + " | "
            + " | ".join(f"{row.ap[s]:.4f}" for s in systems)
            + " | "
            + " | ".join(verdicts)
            + " |"
        )
    return [*lines, ""]


def _contamination(data_dir: Path, profanity: dict[str, Scores], dev: dict[str, Table]) -> list[str]:
    """alt-profanity-check on train and dev rows: equal, high figures on the files it was trained on."""
    from profanity_check import predict_prob

    lines = [
        "## The alt-profanity-check baseline has seen three of these files",
        "",
        "Its README says it was trained on Davidson et al.'s data and on the Jigsaw Toxic Comment Classification "
        "Challenge, which contain davidson_hate_offensive, jigsaw_toxic_6label and jigsaw_toxic_first20k (dev rows "
        "included). Its figures there are as high on dev rows as on train rows, and far above its figures on other "
        "data of the same kind (wiki_toxicity_cat_large is Wikipedia talk too), so on those files it is not a "
        "held-out baseline.",
        "",
        "| data set | column | AUC on train rows | AUC on dev rows |",
        "|---|---|---|---|",
    ]
    for e in EVAL_SETS:
        if e.informational or e.output not in LABELS:
            continue
        train = read_table(data_dir, e.family, "train")
        train_auc = roc_auc_score(train.positive(e.columns), predict_prob(train.texts))
        dev_auc = roc_auc_score(dev[e.family].positive(e.columns), profanity[e.family])
        lines.append(f"| {e.family} | {'+'.join(e.columns)} | {train_auc:.4f} | {dev_auc:.4f} |")
    return [*lines, ""]


def _output_dev(model: FastModel, dev: dict[str, Table], name: str, values: dict[str, Scores]) -> DevRows:
    return calibration_rows(values, dev, model.outputs.index(name), CALIBRATION_SOURCES[name])


def _ids(dev: dict[str, Table], name: str) -> list[str]:
    return [i for source in CALIBRATION_SOURCES[name] for i in dev[source.family].ids]


def _thresholds(model: FastModel, dev: dict[str, Table], probabilities: dict[str, Scores]) -> list[str]:
    chosen = model.info["thresholds"]
    lines = [
        "## Thresholds",
        "",
        "Per output, the lowest threshold (0.01 grid) whose precision on its calibration rows (its dev files "
        "together) reaches the target precision. jigsaw_toxic_6label's rows are reweighted to natural prevalence "
        "(toxic rows to the full Jigsaw file's 9.6%, from 23% in this balanced file), so precision is what to "
        "expect on natural traffic; toxicity is calibrated on jigsaw_toxic_first20k, natural already. Recall is "
        "counted on the rows as they are: positives found at the threshold / positives. The labels' thresholds "
        "are the defaults in config/moderation.toml; the auxiliary outputs' are for reference (never thresholded).",
        "",
        "| output | threshold | target precision | calibration dev files | precision (natural prevalence) | recall "
        "| found / positives |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in model.outputs:
        value = chosen[name]["value"]
        rows = _output_dev(model, dev, name, probabilities)
        flagged = rows.scores >= value
        found = int((flagged & rows.truth).sum())
        positives = int(rows.truth.sum())
        shown = name if name in model.labels else f"auxiliary: {name}"
        lines.append(
            f"| {shown} | {value:.2f} | {chosen[name]['target_precision']:.2f} | "
            f"{', '.join(s.description for s in CALIBRATION_SOURCES[name])} | "
            f"{weighted_precision(flagged, rows.truth, rows.weights):.3f} | {found / max(positives, 1):.3f} | "
            f"{found} / {positives} |"
        )
    return [*lines, ""]


def _cross_fitted(model: FastModel, scorer: FastScorer, dev: dict[str, Table]) -> list[str]:
    """Calibrate and choose on one half of dev, measure on the other (by id hash), both ways."""
    logits = {f: scorer.logits([normalise(t) for t in table.texts]) for f, table in dev.items()}
    lines = [
        "## Threshold precision on unseen rows (cross-fitted)",
        "",
        "The thresholds above were chosen on the same rows they are measured on. Here dev is split in two "
        "halves by id hash; Platt scaling and the threshold are fitted on one half and measured on the "
        "other, both ways, to estimate the precision to expect on new comments (reweighted as above).",
        "",
        "| output | precision (half A -> B) | precision (B -> A) | recall (A -> B) | recall (B -> A) |",
        "|---|---|---|---|---|",
    ]
    for name in model.outputs:
        rows = _output_dev(model, dev, name, logits)
        z, y, w = rows.scores.reshape(-1, 1), rows.truth, rows.weights
        half = np.array([zlib.crc32(i.encode("utf-8")) % 2 for i in _ids(dev, name)]) == 0
        cells = []
        for fit, test in ((half, ~half), (~half, half)):
            platt = LogisticRegression(C=1e4).fit(z[fit], y[fit], sample_weight=w[fit])
            p_fit = platt.predict_proba(z[fit])[:, 1]
            p_test = platt.predict_proba(z[test])[:, 1]
            target = model.info["thresholds"][name]["target_precision"]
            flagged = p_test >= choose_threshold(p_fit, y[fit], target, w[fit])
            precision = weighted_precision(flagged, y[test], w[test]) if flagged.any() else float("nan")
            cells.append((precision, flagged[y[test]].mean()))
        shown = name if name in model.labels else f"auxiliary: {name}"
        lines.append(f"| {shown} | {cells[0][0]:.3f} | {cells[1][0]:.3f} | {cells[0][1]:.3f} | {cells[1][1]:.3f} |")
    return [*lines, ""]


def _calibration(model: FastModel, dev: dict[str, Table], probabilities: dict[str, Scores]) -> list[str]:
    lines = [
        "## Calibration",
        "",
        "Platt scaling per output on its calibration dev rows (see Thresholds). Mean score against the observed "
        "positive rate, and expected calibration error (10 equal-width bins), per dev file, jigsaw_toxic_6label's "
        "rows reweighted to natural prevalence: a file whose base rate is far from the calibration rows' is less "
        "well calibrated (Davidson's 84% offensive tweets for `offensive`).",
        "",
        "| output | dev set | mean score | positive rate | ECE |",
        "|---|---|---|---|---|",
    ]
    for e in EVAL_SETS:
        p = probabilities[e.family][:, model.outputs.index(e.output)]
        y = dev[e.family].positive(e.columns)
        w = natural_weights(dev[e.family])
        lines.append(
            f"| {e.name} | {e.title} | {np.average(p, weights=w):.3f} | {np.average(y, weights=w):.3f} | "
            f"{_ece(p, y, w):.3f} |"
        )
    return [*lines, ""]


def _ece(p: Scores, y: npt.NDArray[np.bool_], w: Scores, bins: int = 10) -> float:
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            gap = abs(np.average(p[members], weights=w[members]) - np.average(y[members], weights=w[members]))
            total += w[members].sum() * gap
    return float(total / w.sum())


def _bias(model: FastModel, scorer: FastScorer, bias: Table, data_dir: Path) -> list[str]:
    k = model.labels.index("toxicity")
    p = scorer.probabilities(bias.texts)[:, k]
    y = bias.positive(("toxicity",))
    threshold = model.info.get("thresholds", {}).get("toxicity", {}).get("value", 0.5)
    flagged = p >= threshold
    baseline = _tfidf_baseline(_vectorise(read_table(data_dir, "jigsaw_toxic_first20k", "train"), bias), ("toxicity",))
    lines = [
        "## Identity-term bias (bias_madlibs_77k, measured only, never trained on)",
        "",
        f"- toxicity ROC-AUC: **{roc_auc_score(y, p):.4f}** (target 0.95); TF-IDF + LR trained on "
        f"jigsaw_toxic_first20k: {roc_auc_score(y, baseline):.4f}",
        f"- false-positive rate on the {int((~y).sum()):,} non-toxic rows at the toxicity threshold "
        f"{threshold:.2f}: **{flagged[~y].mean():.2%}** (target <= 5%); true-positive rate {flagged[y].mean():.2%}",
        "",
        "Per template (the file's `template` column):",
        "",
        "| template | rows | AUC | FPR at threshold | TPR at threshold |",
        "|---|---|---|---|---|",
    ]
    groups = bias.text_columns.get("template", ["all"] * len(bias))
    for name in sorted(set(groups)):
        members = np.array([g == name for g in groups])
        yy, pp = y[members], p[members]
        auc = roc_auc_score(yy, pp) if 0 < yy.sum() < len(yy) else float("nan")
        lines.append(
            f"| {name} | {members.sum():,} | {auc:.3f} | {(pp[~yy] >= threshold).mean():.2%} | "
            f"{(pp[yy] >= threshold).mean():.2%} |"
        )
    terms = _worst_terms(bias, p, y, threshold)
    lines += ["", "Last words (the identity term in most templates) with the most false positives:", ""]
    lines += [f"- {term}: {rate:.1%} of {count:,}" for term, rate, count in terms]
    return [*lines, ""]


def _worst_terms(bias: Table, p: Scores, y: npt.NDArray[np.bool_], threshold: float) -> list[tuple[str, float, int]]:
    counts: dict[str, list[int]] = {}
    for text, score, positive in zip(bias.texts, p, y, strict=True):
        if positive:
            continue
        for word in set(text.lower().rstrip(".").split()[-1:]):
            entry = counts.setdefault(word, [0, 0])
            entry[0] += int(score >= threshold)
            entry[1] += 1
    rates = [(w, fp / n, n) for w, (fp, n) in counts.items() if n >= 100]
    return sorted(rates, key=lambda t: -t[1])[:8]


@dataclass(frozen=True)
class Vectorised:
    """A train file and the texts to score, as TF-IDF fitted on that train file (shared by its columns)."""

    train: Table
    x_train: sp.csr_matrix
    x_dev: sp.csr_matrix


def _vectorise(train: Table, dev: Table) -> Vectorised:
    vectorizer = TfidfVectorizer()
    return Vectorised(train, vectorizer.fit_transform(train.texts), vectorizer.transform(dev.texts))


def _tfidf_baseline(data: Vectorised, columns: tuple[str, ...]) -> Scores:
    model = LogisticRegression(max_iter=1000)
    model.fit(data.x_train, data.train.positive(columns))
    return np.asarray(model.predict_proba(data.x_dev)[:, 1], dtype=np.float64)


def _profanity_check(texts: dict[str, list[str]]) -> dict[str, Scores] | None:
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    return {family: np.asarray(predict_prob(t), dtype=np.float64) for family, t in texts.items()}
