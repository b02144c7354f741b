"""The cascade's rules, with the lexicon (real, no model download) as both tiers."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.config import CascadeSettings, ScoringSettings
from moderation.errors import ScoringError
from moderation.models import CommentScore
from moderation.scoring.attack import ATTACK_VERSION
from moderation.scoring.base import load_scorer
from moderation.scoring.cascade import CascadeScorer, band_digest
from moderation.scoring.lexicon import LexiconScorer
from moderation.training.cascade_bands import Task, choose_bands, in_band


class Shifted(LexiconScorer):
    """The lexicon with every score moved down by 0.01: tells which tier scored a comment."""

    name = "shifted"

    def score_texts(self, texts):  # type: ignore[no-untyped-def]
        return [
            CommentScore({k: round(v - 0.01, 4) for k, v in s.scores.items()}, s.evidence)
            for s in super().score_texts(texts)
        ]


def test_only_scores_inside_a_band_are_escalated_and_the_high_end_is_open() -> None:
    cascade = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.02, 0.9)})
    low, high = cascade.score_texts(["a calm remark", "you idiot"])
    assert low.scores["insult"] == pytest.approx(0.01)  # 0.02 is in [0.02, 0.9): rescored
    assert high.scores["insult"] == 0.9  # 0.9 is not: the screen's score stands
    assert cascade.escalated == 1


def test_evidence_survives_escalation_only_where_the_accurate_tier_agrees() -> None:
    cascade = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.5, 1.0)})
    (result,) = cascade.score_texts(["you idiot"])
    assert result.scores["insult"] == pytest.approx(0.89) and "insult" in result.evidence


def test_a_band_for_a_label_the_screen_lacks_is_an_error() -> None:
    with pytest.raises(ScoringError, match=r"scoring.cascade.bands: the screen scorer 'lexicon' has no label attack"):
        CascadeScorer(LexiconScorer(), Shifted(), {"attack": (0.1, 0.5)})


def test_an_inverted_band_is_an_error() -> None:
    with pytest.raises(ScoringError, match=r"scoring.cascade.bands.insult: need 0 <= low <= high <= 1"):
        CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.6, 0.5)})


def test_the_version_names_both_tiers_and_changes_with_the_band() -> None:
    one = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.1, 0.5)})
    two = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.1, 0.6)})
    assert one.version.startswith(f"cascade-{band_digest(one.bands)}:lexicon/lexicon-")
    assert ">shifted/" in one.version and one.version != two.version


def test_cascade_is_a_registered_scorer_name() -> None:
    settings = ScoringSettings(cascade=CascadeSettings(screen="lexicon", accurate="lexicon", bands={}))
    scorer = load_scorer("cascade", settings)
    assert scorer.name == "cascade" and scorer.version.endswith(f"+thread{ATTACK_VERSION}")


def test_a_cascade_inside_a_cascade_is_refused() -> None:
    settings = ScoringSettings(cascade=CascadeSettings(screen="lexicon", accurate="cascade"))
    with pytest.raises(ScoringError, match="a cascade cannot be a tier of itself"):
        load_scorer("cascade", settings)


def test_band_choice_escalates_the_uncertain_middle_within_the_budget() -> None:
    rng = np.random.default_rng(0)
    gold = rng.random(2000) < 0.3
    accurate = np.where(gold, 0.8, 0.2)[:, None] + rng.normal(0, 0.05, (2000, 1))
    # The screen is right when it is sure (far from 0.5) and noise in the middle.
    screen = np.clip(np.where(gold, 0.7, 0.3) + rng.normal(0, 0.2, 2000), 0, 0.999)[:, None]
    tasks = [Task("f", "toxicity", gold)]
    result = choose_bands({"f": screen}, {"f": accurate}, ("toxicity",), tasks, max_escalated=0.5)
    low, high = result.bands["toxicity"]
    assert 0.0 < low < 0.5 < high < 1.0
    assert result.escalated["all"] <= 0.5
    assert in_band(screen, ("toxicity",), result.bands).mean() == pytest.approx(result.escalated["all"])
    gap = result.auc_cascade[("f", "toxicity")] - result.auc_accurate[("f", "toxicity")]
    assert gap > result.auc_screen[("f", "toxicity")] - result.auc_accurate[("f", "toxicity")]
    assert result.path[0].escalated == 0.0 and result.path[0].bands == {}
    assert [p.escalated for p in result.path] == sorted(p.escalated for p in result.path)
