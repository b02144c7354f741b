"""Thresholds proposed from moderators' decisions, worked out by hand; writing them keeps the config's comments."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from moderation.review.tuning import propose_one, propose_thresholds, wilson_interval, write_thresholds

# (insult score, rejected?) of eight decided items: 5 of 8 rejected.
INSULT = [
    (0.52, False),
    (0.55, False),
    (0.61, True),
    (0.64, False),
    (0.70, True),
    (0.75, True),
    (0.81, True),
    (0.90, True),
]


def test_lowest_threshold_whose_flags_reach_the_precision() -> None:
    # 0.52: 5 of 8 rejected (0.625); 0.53 leaves out the approved 0.52: 5 of 7 (0.71); 0.56 leaves out the
    # approved 0.55 too: 5 of 6 (0.83); 0.62 leaves out the rejected 0.61: 4 of 5 (0.8); 0.65 leaves out the
    # approved 0.64: 4 of 4.
    proposal = propose_one("insult", INSULT, 0.5, target=0.8, min_decisions=4)
    assert (proposal.threshold, proposal.kept, proposal.kept_rejected) == (0.56, 6, 5)
    assert not proposal.at_floor
    assert proposal.interval is not None and proposal.interval.low == pytest.approx(0.4365, abs=1e-4)
    proposal = propose_one("insult", INSULT, 0.5, target=0.9, min_decisions=4)
    assert (proposal.threshold, proposal.kept, proposal.kept_rejected) == (0.65, 4, 4)


def test_a_target_met_by_every_decision_stops_at_the_lowest_decided_score() -> None:
    proposal = propose_one("insult", INSULT, 0.5, target=0.6, min_decisions=4)
    assert (proposal.threshold, proposal.kept, proposal.kept_rejected, proposal.at_floor) == (0.52, 8, 5, True)


def test_too_few_decisions_are_refused() -> None:
    proposal = propose_one("threat", [(0.9, True), (0.8, True), (0.7, True)], 0.14, target=0.9, min_decisions=4)
    assert proposal.threshold is None
    assert proposal.refused == "3 decisions, fewer than the 4 needed"


def test_no_threshold_keeping_enough_decisions_is_refused() -> None:
    # 0.65 reaches 0.9 but keeps 4 items; with 5 needed nothing does.
    proposal = propose_one("insult", INSULT, 0.5, target=0.9, min_decisions=5)
    assert proposal.threshold is None
    assert proposal.refused == "no threshold keeps 5 decisions with precision 0.9 or more (now 5/8)"


def test_every_configured_label_gets_an_answer() -> None:
    proposals = propose_thresholds({"insult": INSULT}, {"insult": 0.5, "threat": 0.14}, 0.9, 4)
    assert [(p.label, p.threshold) for p in proposals] == [("insult", 0.65), ("threat", None)]


def test_wilson_interval_by_hand() -> None:
    # 5 of 5, z = 1.96: centre (1 + z²/10) / (1 + z²/5), half z·sqrt(z²/100) / (1 + z²/5)
    interval = wilson_interval(5, 5)
    assert interval.low == pytest.approx(0.5655, abs=1e-4)
    assert interval.high == 1.0
    interval = wilson_interval(5, 6)
    assert (interval.low, interval.high) == (pytest.approx(0.4365, abs=1e-4), pytest.approx(0.9699, abs=1e-4))


def test_writing_thresholds_keeps_comments_and_other_keys(tmp_path: Path) -> None:
    config = tmp_path / "moderation.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///x.db"\n\n[policy.thresholds]\n# why these values\ninsult = 0.54  # tuned\n'
        'threat = 0.14\n\n[review]\n# reasons\nreason_codes = ["spam"]\n',
        encoding="utf-8",
    )
    write_thresholds(config, {"insult": 0.65, "toxicity": 0.5})
    text = config.read_text(encoding="utf-8")
    assert "# why these values" in text and "# reasons" in text
    assert "insult = 0.65" in text
    assert tomllib.loads(text)["policy"]["thresholds"] == {"insult": 0.65, "threat": 0.14, "toxicity": 0.5}


def test_writing_into_a_config_without_a_policy_table_adds_it(tmp_path: Path) -> None:
    config = tmp_path / "moderation.toml"
    config.write_text('[database]\nurl = "sqlite:///x.db"\n', encoding="utf-8")
    write_thresholds(config, {"insult": 0.65})
    assert tomllib.loads(config.read_text(encoding="utf-8"))["policy"]["thresholds"] == {"insult": 0.65}
