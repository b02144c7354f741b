"""The cascade's screen fit: refitting the screen's scores to the accurate tier's, with the lexicon (real, no
model) as the screen."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from moderation.config import CascadeSettings, ScoringSettings
from moderation.errors import ScoringError
from moderation.models import CommentScore
from moderation.scoring.base import load_scorer
from moderation.scoring.cascade import CascadeScorer
from moderation.scoring.lexicon import LexiconScorer
from moderation.scoring.onnx_runner import INT8_RECIPE
from moderation.scoring.screen_fit import DEFAULT_FIT_PATH, ScreenFit, read_fit, write_fit
from moderation.training.screen_fit import fit_screen

LEXICON = LexiconScorer()


def lexicon_fit(insult: tuple[float, float], **changes: str) -> ScreenFit:
    """A fit for the lexicon over itself whose insult is sigmoid(w * logit(screen insult) + b)."""
    inputs = LEXICON.labels
    weights = tuple(insult[0] if name == "insult" else 0.0 for name in inputs)
    tiers = {"screen": f"lexicon/{LEXICON.version}", "accurate": f"lexicon/{LEXICON.version}", **changes}
    return ScreenFit(tiers["screen"], tiers["accurate"], inputs, {"insult": weights}, {"insult": insult[1]})


def sigmoid(z: float) -> float:
    return float(1 / (1 + np.exp(-z)))


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_a_fit_replaces_the_labels_it_gives_and_leaves_the_rest_alone() -> None:
    fit = lexicon_fit((2.0, -1.0))
    screened = CommentScore({"insult": 0.9, "toxicity": 0.3}, {"insult": []}, auxiliary={"attack": 0.7})
    inputs_only = [CommentScore({name: 0.9 if name == "insult" else 0.3 for name in fit.inputs}, {}, {})]
    (refitted,) = fit.apply(inputs_only)
    assert refitted.scores["insult"] == pytest.approx(round(sigmoid(2 * logit(0.9) - 1), 4))
    assert refitted.scores["toxicity"] == 0.3
    with pytest.raises(ScoringError, match="the screen gave no output"):
        fit.apply([screened])  # the lexicon's other labels are missing from this score


def test_the_cascade_escalates_on_the_refitted_score() -> None:
    # "you idiot" screens insult 0.9 on the lexicon; the fit maps it to sigmoid(-4 * logit(0.9)) ~ 0.0002,
    # under the band, so it is not escalated and shows the fitted score.
    fitted = CascadeScorer(LEXICON, LexiconScorer(), {"insult": (0.5, 1.0)}, lexicon_fit((-4.0, 0.0)))
    (result,) = fitted.score_texts(["you idiot"])
    assert fitted.escalated == 0 and result.scores["insult"] < 0.01
    plain = CascadeScorer(LEXICON, LexiconScorer(), {"insult": (0.5, 1.0)})
    plain.score_texts(["you idiot"])
    assert plain.escalated == 1
    assert f"-fit{fitted.fit.digest}:" in fitted.version and fitted.version != plain.version  # type: ignore[union-attr]


def test_a_fit_for_other_tiers_is_refused_with_the_key_to_set() -> None:
    stale = lexicon_fit((1.0, 0.0), screen="fast/fast-0-old")
    with pytest.raises(ScoringError, match=r"scoring.cascade.screen_fit: fitted for fast/fast-0-old > lexicon/"):
        CascadeScorer(LEXICON, LexiconScorer(), {}, stale)


def test_a_fit_written_is_read_back_the_same_and_a_broken_one_names_the_key(tmp_path: Path) -> None:
    fit = lexicon_fit((1.5, -0.25))
    write_fit(fit, tmp_path / "fit.json")
    assert read_fit(tmp_path / "fit.json") == fit
    (tmp_path / "broken.json").write_text('{"screen": "x"}')
    with pytest.raises(ScoringError, match=r"scoring.cascade.screen_fit: cannot read .*broken.json"):
        read_fit(tmp_path / "broken.json")
    short = json.loads((tmp_path / "fit.json").read_text())
    short["weights"]["insult"] = short["weights"]["insult"][:-1]
    (tmp_path / "short.json").write_text(json.dumps(short))
    with pytest.raises(ScoringError, match=r"short.json is inconsistent: every label needs one weight per input"):
        read_fit(tmp_path / "short.json")


def test_fitting_recovers_a_known_relation_from_soft_targets() -> None:
    rng = np.random.default_rng(0)
    outputs = rng.uniform(0.001, 0.999, size=(4000, 2))
    accurate = np.array([sigmoid(1.5 * logit(a) - 0.5 * logit(b) + 0.7) for a, b in outputs])[:, None]
    fit = fit_screen(
        outputs, accurate, inputs=("a", "b"), labels=("a",), screen="s/1", accurate_tier="t/1", provenance={}
    )
    assert fit.weights["a"] == pytest.approx((1.5, -0.5), abs=0.05)
    assert fit.intercepts["a"] == pytest.approx(0.7, abs=0.05)


def test_the_shipped_fit_is_for_the_shipped_models() -> None:
    from moderation.scoring.accurate import accurate_artifact
    from moderation.scoring.fast import FastScorer

    fit = read_fit(DEFAULT_FIT_PATH)
    fast = FastScorer()
    assert fit.screen == f"fast/{fast.version}" and fit.accurate == f"accurate/{accurate_artifact().version}"
    assert fit.inputs == fast.labels + fast.auxiliary and set(fit.labels) == set(fast.labels)


def test_the_shipped_fit_applies_only_to_the_tiers_it_names_and_can_be_switched_off(tmp_path: Path) -> None:
    lexicon_tiers = CascadeSettings(screen="lexicon", accurate="lexicon", bands={})
    cascade = load_scorer("cascade", ScoringSettings(cascade=lexicon_tiers)).text_scorer  # type: ignore[attr-defined]
    assert cascade.fit is None
    write_fit(lexicon_fit((1.0, 0.0)), tmp_path / "fit.json")
    configured = lexicon_tiers.model_copy(update={"screen_fit": str(tmp_path / "fit.json")})
    cascade = load_scorer("cascade", ScoringSettings(cascade=configured)).text_scorer  # type: ignore[attr-defined]
    assert cascade.fit == lexicon_fit((1.0, 0.0))
    off = lexicon_tiers.model_copy(update={"screen_fit": ""})
    assert load_scorer("cascade", ScoringSettings(cascade=off)).text_scorer.fit is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("tier", ["accurate:int8", "accurate"])
def test_the_shipped_fit_serves_the_accurate_model_at_either_precision_without_loading_it(
    tier: str, tmp_path: Path
) -> None:
    from moderation.config import AccurateSettings
    from moderation.scoring.accurate import accurate_artifact

    # Settings of this test's own (a cache folder nobody else names): scorers are cached per settings in a
    # process, and another test that scored with the default cascade would hand over its loaded tiers.
    accurate_settings = AccurateSettings(cache_dir=str(tmp_path))
    settings = ScoringSettings(accurate=accurate_settings, cascade=CascadeSettings(accurate=tier))
    cascade = load_scorer("cascade", settings).text_scorer  # type: ignore[attr-defined]
    version = accurate_artifact().version
    assert cascade.fit == read_fit(DEFAULT_FIT_PATH) and not cascade.accurate.loaded
    assert cascade.accurate.version == (f"{version}-{INT8_RECIPE}" if tier.endswith("int8") else version)
    assert f">accurate/{cascade.accurate.version}" in cascade.version
    # The int8 copy's near-threshold scores are rechecked by the fp32 model, loaded only when one comes.
    assert (cascade.recheck is not None) == tier.endswith("int8")
    assert cascade.recheck is None or (cascade.recheck.version == version and not cascade.recheck.loaded)


def test_an_unknown_precision_or_int8_on_torch_is_one_error_naming_what_to_set() -> None:
    from moderation.config import AccurateSettings
    from moderation.scoring.accurate import AccurateScorer

    with pytest.raises(ScoringError, match="unknown scorer accurate:fp16: use accurate or accurate:int8"):
        load_scorer("accurate:fp16", ScoringSettings())
    with pytest.raises(ScoringError, match=re.escape('scoring.accurate.runtime = "onnx"')):
        AccurateScorer(AccurateSettings(runtime="torch"), "int8")
