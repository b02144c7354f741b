"""The cascade's rules, with the lexicon (real, no model download) as both tiers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moderation.config import CascadeSettings, ScoringSettings, load_settings
from moderation.errors import ScoringError
from moderation.models import CommentScore
from moderation.scoring.attack import ATTACK_VERSION
from moderation.scoring.base import load_scorer
from moderation.scoring.cascade import CascadeScorer, band_digest
from moderation.scoring.lexicon import LexiconScorer
from moderation.training.cascade_bands import Task, combined, decision_bands, evaluate, in_band, recheck_bands
from moderation.training.cascade_report import write_bands


class Shifted(LexiconScorer):
    """The lexicon with every score moved down by 0.01 and an auxiliary `attack` output: tells which tier
    scored a comment."""

    name = "shifted"

    def score_texts(self, texts):  # type: ignore[no-untyped-def]
        return [
            CommentScore({k: round(v - 0.01, 4) for k, v in s.scores.items()}, s.evidence, auxiliary={"attack": 0.7})
            for s in super().score_texts(texts)
        ]


class Raised(LexiconScorer):
    """The lexicon with every score moved up by 0.05: tells which comments the recheck tier scored."""

    name = "raised"

    def score_texts(self, texts):  # type: ignore[no-untyped-def]
        return [
            CommentScore({k: round(min(v + 0.05, 1.0), 4) for k, v in s.scores.items()}, s.evidence)
            for s in super().score_texts(texts)
        ]


def test_only_scores_inside_a_band_are_escalated_and_the_high_end_is_open() -> None:
    cascade = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.02, 0.9)})
    low, high = cascade.score_texts(["a calm remark", "you idiot"])
    assert low.scores["insult"] == pytest.approx(0.01)  # 0.02 is in [0.02, 0.9): rescored
    assert high.scores["insult"] == 0.9  # 0.9 is not: the screen's score stands
    assert cascade.escalated == 1


def test_an_escalated_comment_carries_the_accurate_tiers_auxiliary_outputs() -> None:
    cascade = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.02, 0.9)})
    low, high = cascade.score_texts(["a calm remark", "you idiot"])
    assert (low.auxiliary, high.auxiliary) == ({"attack": 0.7}, {})


def test_evidence_survives_escalation_only_where_the_accurate_tier_agrees() -> None:
    cascade = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.5, 1.0)})
    (result,) = cascade.score_texts(["you idiot"])
    assert result.scores["insult"] == pytest.approx(0.89) and "insult" in result.evidence


def test_a_band_for_a_label_the_screen_lacks_is_an_error() -> None:
    with pytest.raises(ScoringError, match=r"scoring.cascade.bands: the scorer .lexicon. it applies to has no label"):
        CascadeScorer(LexiconScorer(), Shifted(), {"attack": (0.1, 0.5)})


def test_an_inverted_band_is_an_error() -> None:
    with pytest.raises(ScoringError, match=r"scoring.cascade.bands.insult: need 0 <= low <= high <= 1"):
        CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.6, 0.5)})


def test_the_version_names_both_tiers_and_changes_with_the_band() -> None:
    one = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.1, 0.5)})
    two = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.1, 0.6)})
    assert one.version.startswith(f"cascade-{band_digest(one.bands)}:lexicon/lexicon-")
    assert ">shifted/" in one.version and one.version != two.version


def test_an_escalated_comment_scored_in_a_recheck_band_is_scored_again_by_the_recheck_tier() -> None:
    cascade = CascadeScorer(
        LexiconScorer(), Shifted(), {"insult": (0.0, 1.0)}, recheck=Raised(), recheck_bands={"insult": (0.5, 0.95)}
    )
    calm, rude = cascade.score_texts(["a calm remark", "you idiot"])
    assert calm.scores["insult"] == pytest.approx(0.01)  # the escalation tier's 0.01 is outside [0.5, 0.95)
    assert rude.scores["insult"] == pytest.approx(0.95)  # its 0.89 is inside: the recheck tier's 0.9 + 0.05
    assert (cascade.escalated, cascade.rechecked) == (2, 1)


def test_without_a_recheck_tier_the_recheck_bands_are_ignored() -> None:
    cascade = CascadeScorer(LexiconScorer(), Shifted(), {"insult": (0.0, 1.0)}, recheck_bands={"insult": (0.0, 1.0)})
    (rude,) = cascade.score_texts(["you idiot"])
    assert rude.scores["insult"] == pytest.approx(0.89) and cascade.rechecked == 0
    assert "recheck" not in cascade.version


def test_the_version_names_the_recheck_tier_and_changes_with_its_band() -> None:
    bands = {"insult": (0.1, 0.5)}
    one = CascadeScorer(LexiconScorer(), Shifted(), bands, recheck=Raised(), recheck_bands={"insult": (0.4, 0.6)})
    two = CascadeScorer(LexiconScorer(), Shifted(), bands, recheck=Raised(), recheck_bands={"insult": (0.4, 0.7)})
    assert ">shifted/" in one.version and ">raised/" in one.version and one.version != two.version


def test_a_recheck_band_for_a_label_the_escalation_tier_lacks_is_an_error() -> None:
    with pytest.raises(ScoringError, match=r"scoring.cascade.recheck_bands: the scorer .shifted. it applies to has no"):
        CascadeScorer(LexiconScorer(), Shifted(), {}, recheck=Raised(), recheck_bands={"attack": (0.1, 0.5)})


def test_the_recheck_bands_apply_to_the_int8_copy_only() -> None:
    # They are where that copy's flags can differ from the fp32 model's; another tier is not rechecked.
    settings = ScoringSettings(cascade=CascadeSettings(screen="lexicon", accurate="lexicon", bands={}))
    assert settings.cascade.recheck_bands
    assert load_scorer("cascade", settings).text_scorer.recheck is None  # type: ignore[attr-defined]


def test_no_recheck_without_recheck_bands() -> None:
    settings = ScoringSettings(cascade=CascadeSettings(recheck_bands={}))
    cascade = load_scorer("cascade", settings).text_scorer  # type: ignore[attr-defined]
    assert cascade.recheck is None and "recheck" not in cascade.version


def test_cascade_is_a_registered_scorer_name() -> None:
    settings = ScoringSettings(cascade=CascadeSettings(screen="lexicon", accurate="lexicon", bands={}))
    scorer = load_scorer("cascade", settings)
    assert scorer.name == "cascade" and scorer.version.endswith(f"+thread{ATTACK_VERSION}")


def test_a_cascade_inside_a_cascade_is_refused() -> None:
    settings = ScoringSettings(cascade=CascadeSettings(screen="lexicon", accurate="cascade"))
    with pytest.raises(ScoringError, match="a cascade cannot be a tier of itself"):
        load_scorer("cascade", settings)


def _tiers(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An accurate tier and a noisier screen that agree on the clear cases."""
    rng = np.random.default_rng(seed)
    truth = rng.random(rows)
    accurate = np.clip(truth + rng.normal(0, 0.02, rows), 0, 1)[:, None]
    screen = np.clip(truth + rng.normal(0, 0.1, rows), 0, 0.999)[:, None]
    return screen, accurate


def test_decision_bands_keep_the_accurate_flags_and_escalate_only_what_could_change_one() -> None:
    screen, accurate = _tiers(4000, 0)
    bands = decision_bands({"f": screen}, {"f": accurate}, ("toxicity",), {"toxicity": 0.8}, miss=0.01, extra=0.01)
    low, high = bands["toxicity"]
    assert 0.5 < low < 0.8 < high < 1.0
    held_screen, held_accurate = _tiers(4000, 1)
    gold = held_accurate[:, 0] >= 0.8
    result = evaluate(
        {"f": held_screen}, {"f": held_accurate}, ("toxicity",), {"toxicity": 0.8}, [Task("f", "toxicity", gold)], bands
    )
    assert result.agreement["all"].kept_share >= 0.97
    assert result.agreement["all"].extra_share <= 0.03
    assert 0.05 < result.escalated["all"] < 0.5
    assert in_band(held_screen, ("toxicity",), bands).mean() == pytest.approx(result.escalated["all"])


def test_with_no_budget_the_cascade_makes_exactly_the_accurate_flags_on_the_data_it_was_chosen_on() -> None:
    screen, accurate = _tiers(2000, 2)
    bands = decision_bands({"f": screen}, {"f": accurate}, ("toxicity",), {"toxicity": 0.8}, miss=0.0, extra=0.0)
    assert bands["toxicity"][0] == screen[accurate[:, 0] >= 0.8, 0].min()
    result = evaluate({"f": screen}, {"f": accurate}, ("toxicity",), {"toxicity": 0.8}, [], bands)
    assert (result.agreement["all"].kept_share, result.agreement["all"].extra) == (1.0, 0)
    assert (result.comments.kept_share, result.comments.extra) == (1.0, 0)
    assert result.escalated["all"] < 1.0


def test_a_comment_counts_once_as_a_decision_however_many_labels_flag_it() -> None:
    labels, thresholds = ("toxicity", "insult"), {"toxicity": 0.5, "insult": 0.5}
    accurate = np.array([[0.9, 0.9], [0.9, 0.1], [0.1, 0.1], [0.1, 0.1]])
    # The screen's own scores stand everywhere (no band): it misses the first comment's insult (the comment is
    # still flagged), the second comment altogether, and flags the third.
    screen = np.array([[0.9, 0.1], [0.1, 0.1], [0.1, 0.9], [0.1, 0.1]])
    result = evaluate({"f": screen}, {"f": accurate}, labels, thresholds, [], {})
    assert (result.agreement["all"].accurate_flags, result.agreement["all"].kept, result.agreement["all"].extra) == (
        3,
        1,
        1,
    )
    assert (result.comments.accurate_flags, result.comments.kept, result.comments.extra) == (2, 1, 1)


def test_recheck_bands_hold_every_row_whose_flag_the_copy_sets_differently() -> None:
    rng = np.random.default_rng(5)
    reference = rng.random((4000, 1))
    copy = np.clip(reference + rng.normal(0, 0.01, (4000, 1)), 0, 1)
    labels, thresholds = ("toxicity",), {"toxicity": 0.5}
    bands = recheck_bands({"f": copy}, {"f": reference}, labels, thresholds)
    low, high = bands["toxicity"]
    differ = (copy[:, 0] >= 0.5) != (reference[:, 0] >= 0.5)
    assert differ.any() and in_band(copy[differ], labels, bands).all()
    assert 0.45 < low < 0.5 < high < 0.55
    # With the recheck, the cascade escalating everything decides as the reference does; without, it does not.
    everything = {"toxicity": (0.0, 1.0)}
    rechecked = evaluate({"f": copy}, {"f": reference}, labels, thresholds, [], everything, {"f": copy}, bands)
    plain = evaluate({"f": copy}, {"f": reference}, labels, thresholds, [], everything, {"f": copy})
    assert (rechecked.agreement["all"].kept_share, rechecked.agreement["all"].extra) == (1.0, 0)
    assert plain.agreement["all"].kept_share < 1.0 or plain.agreement["all"].extra > 0
    assert rechecked.rechecked["all"] == pytest.approx(in_band(copy, labels, bands).mean())
    assert rechecked.rechecked["all"] < 0.1 and plain.rechecked["all"] == 0.0


def test_no_recheck_band_where_the_copy_never_sets_a_flag_differently() -> None:
    scores = np.array([[0.1], [0.6], [0.9]])
    assert recheck_bands({"f": scores}, {"f": scores}, ("toxicity",), {"toxicity": 0.5}) == {}


def test_chosen_recheck_bands_are_written_into_their_table_or_added_at_the_end(tmp_path: Path) -> None:
    config = tmp_path / "moderation.toml"
    config.write_text("[scoring.cascade.bands]\ntoxicity = [0.02, 0.03]\n")
    screen, accurate = _tiers(500, 3)
    for recheck in ({"toxicity": (0.48, 0.52)}, {"toxicity": (0.47, 0.53)}):
        result = evaluate({"f": screen}, {"f": accurate}, ("toxicity",), {"toxicity": 0.5}, [], {}, None, recheck)
        write_bands(config, result)
    assert config.read_text() == (
        "[scoring.cascade.bands]\n\n[scoring.cascade.recheck_bands]\ntoxicity = [0.4700, 0.5300]\n\n"
    )
    assert load_settings(config).scoring.cascade.recheck_bands == {"toxicity": (0.47, 0.53)}


def test_chosen_bands_are_written_into_the_config_table_keeping_its_comments(tmp_path: Path) -> None:
    config = tmp_path / "moderation.toml"
    config.write_text(
        "[scoring.cascade.bands]\n# chosen by a command\ntoxicity = [0.02, 0.03]\nobscene = [0.2, 0.3]\n\n"
        "[policy]\ntrusted_authors = []\n"
    )
    screen, accurate = _tiers(500, 3)
    result = evaluate({"f": screen}, {"f": accurate}, ("insult",), {"insult": 0.5}, [], {"insult": (0.25, 0.75)})
    write_bands(config, result)
    assert config.read_text() == (
        "[scoring.cascade.bands]\n# chosen by a command\ninsult = [0.2500, 0.7500]\n\n[policy]\ntrusted_authors = []\n"
        "\n[scoring.cascade.recheck_bands]\n"  # none chosen: an empty table, not the shipped defaults
    )
    assert load_settings(config).scoring.cascade.bands == {"insult": (0.25, 0.75)}
    assert load_settings(config).scoring.cascade.recheck_bands == {}


def test_a_comment_escalated_for_one_label_keeps_the_screens_clear_flag_on_another() -> None:
    bands = {"insult": (0.02, 0.9), "threat": (0.5, 0.9)}
    cascade = CascadeScorer(LexiconScorer(), Shifted(), bands)
    (result,) = cascade.score_texts(["I will kill you"])
    assert cascade.escalated == 1  # its insult score, 0.02, is in the insult band
    assert result.scores["threat"] == 0.9  # the screen's threat is at the band's high end: it stands
    assert result.scores["insult"] == pytest.approx(0.01)  # rescored


def test_the_bands_evaluation_combines_escalated_scores_as_the_cascade_does() -> None:
    texts = ["I will kill you", "you idiot", "a calm remark", "kill the idiot"]
    bands = {"insult": (0.02, 0.9), "threat": (0.5, 0.9)}
    cascade = CascadeScorer(LexiconScorer(), Shifted(), bands)
    labels = cascade.labels
    as_array = lambda results: np.array([[r.scores[label] for label in labels] for r in results])  # noqa: E731
    screen, accurate = as_array(LexiconScorer().score_texts(texts)), as_array(Shifted().score_texts(texts))
    escalate = in_band(screen, labels, bands)
    expected = np.where(escalate[:, None], combined(screen, accurate, labels, bands), screen)
    np.testing.assert_allclose(as_array(cascade.score_texts(texts)), expected)


def test_the_default_cascades_version_fits_the_column_scores_are_stored_under() -> None:
    from moderation.storage.tables import ScoreRow

    version = load_scorer("cascade", ScoringSettings()).version
    assert "-recheck" in version and len(version) <= ScoreRow.__table__.c.scorer_version.type.length
