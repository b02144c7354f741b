"""Identity-term balancing: counterfactual copies of negative rows until no term is mostly seen in positive ones."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from moderation.training.accurate import OUTPUTS, SUPERVISION, Examples, TrainOptions, paired_rows, training_examples
from moderation.training.identity_balance import (
    ADJECTIVES,
    MAX_COPIES_PER_MENTION,
    PLURALS,
    balancing_copies,
    counterfactuals,
    positive_twins,
)


def _family(rows: list[tuple[str, bool]]) -> tuple[list[str], np.ndarray]:
    return [text for text, _ in rows], np.array([positive for _, positive in rows])


def test_a_term_seen_mostly_in_positive_rows_gets_copies_of_negative_rows_until_its_share_is_the_familys() -> None:
    rows = [("you gay idiot", True)] * 3 + [("the gay pride parade was lovely", False)]
    rows += [("the Christian choir sang well", False)] * 8 + [("you idiot", True)] * 3 + [("nice photo", False)] * 6
    texts, positive = _family(rows)  # 6 of 20 positive: 30%; "gay": 3 of 4
    copies = balancing_copies(texts, positive, seed=0)
    gay = [copy for copy in copies if copy.term == "gay"]
    assert len(gay) == 6  # 3 positives / 0.3 = 10 rows that say "gay": 4 + 6
    assert {copy.text for copy in gay} == {"the Gay choir sang well"}
    assert all(not positive[copy.row] for copy in copies)
    assert all(copy.term != "christian" for copy in copies)  # 0 of 8 positive: below the family's share


def test_copies_are_capped_per_real_mention_and_the_term_takes_the_replaced_words_case() -> None:
    rows = [("GAY people are a disease", True)] + [("MUSLIM holidays start today", False)] * 20
    rows += [("nice photo", False)] * 79
    texts, positive = _family(rows)  # 1% positive: "gay" would want 99 copies
    copies = balancing_copies(texts, positive, seed=0)
    assert len(copies) == MAX_COPIES_PER_MENTION
    assert {copy.text for copy in copies} == {"GAY holidays start today"}


def test_colour_words_are_written_into_copies_but_never_replaced_out_of_a_row() -> None:
    rows = [("the black hole photo", False)] * 10 + [("the muslim holiday", False)] * 5
    rows += [("jewish people are vermin", True)] * 2 + [("nice photo", False)] * 3
    texts, positive = _family(rows)  # 10% positive; "jewish": 2 of 2
    copies = balancing_copies(texts, positive, seed=0)
    assert copies and {copy.text for copy in copies} == {"the jewish holiday"}


def test_plural_terms_replace_plural_terms_only() -> None:
    rows = [("jews are rats", True)] * 2 + [("muslims celebrate Eid", False)] * 4 + [("the muslim vote", False)] * 4
    rows += [("nice photo", False)] * 10
    texts, positive = _family(rows)  # 10%: "jews" 2 of 2 wants 18 copies, capped at 6; only 4 plural donors
    copies = balancing_copies(texts, positive, seed=0)
    assert {copy.text for copy in copies} == {"jews celebrate Eid"}
    assert len(copies) == 4


def test_a_family_without_positives_or_terms_gets_no_copies() -> None:
    assert balancing_copies(*_family([("the gay pride parade", False)] * 3), seed=0) == []
    assert balancing_copies(*_family([("you idiot", True), ("nice photo", False)]), seed=0) == []


def test_training_rows_get_the_copies_with_their_rows_targets_and_masks(tmp_path: Path) -> None:
    for family, outputs in SUPERVISION.items():
        columns = sorted({c for cols in outputs.values() for c in cols})
        rows = [("you gay idiot", 1.0)] * 3 + [("the gay pride parade was lovely", 0.0)]
        rows += [("the christian choir sang well", 0.0)] * 8 + [("you idiot", 1.0)] * 3 + [("nice photo", 0.0)] * 6
        with (tmp_path / f"{family}.train.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "text", *columns])
            writer.writerows([f"{family}-{i}", text, *[value] * len(columns)] for i, (text, value) in enumerate(rows))
    balanced, described = training_examples(tmp_path, TrainOptions(identity_balance=True))
    plain, _ = training_examples(tmp_path, TrainOptions())
    added = len(balanced.texts) - len(plain.texts)
    assert added == 6 * len(SUPERVISION)
    copies = [i for i, text in enumerate(balanced.texts) if text == "the gay choir sang well"]
    assert len(copies) == added
    donors = [i for i, text in enumerate(balanced.texts) if text == "the christian choir sang well"]
    for i in copies:  # each family's copies follow its rows: the donor is the last one before the copy
        donor = max(d for d in donors if d < i)
        assert (balanced.targets[i], balanced.masks[i]) == (balanced.targets[donor], balanced.masks[donor])
    assert len({tuple(balanced.masks[i]) for i in copies}) > 1  # the families' own masks, not one family's
    assert all(info["identity_copies"] == {"gay": 6} for info in described.values())

    twinned, described = training_examples(tmp_path, TrainOptions(positive_twins=2))
    twins = [i for i, text in enumerate(twinned.texts) if len(text.split()) == 3 and text.startswith("you ")]
    twins = [i for i in twins if twinned.texts[i] != "you gay idiot"]
    assert twins and all(text.split()[1] in ADJECTIVES for text in (twinned.texts[i] for i in twins))
    # Each of the 3 "you gay idiot" rows gets 1 or 2 twins (two draws of the same term are one twin).
    assert all(3 <= info["positive_twins"] <= 6 for info in described.values())
    assert sum(info["positive_twins"] for info in described.values()) == len(twins)
    originals = [i for i, text in enumerate(twinned.texts) if text == "you gay idiot"]
    for i in twins:  # the same targets and mask as the family's positive row
        source = max(o for o in originals if o < i)
        assert (twinned.targets[i], twinned.masks[i]) == (twinned.targets[source], twinned.masks[source])


def test_a_counterfactual_replaces_one_identity_term_by_another_of_its_form_and_leaves_other_rows_alone() -> None:
    texts = ["the gay pride parade", "Muslims celebrate Eid", "a black hole", "nothing here", "GAY and gay"]
    pairs = counterfactuals(texts, seed=0)
    assert sorted(pairs) == [0, 1, 4]  # colour words are never replaced
    assert pairs[0].startswith("the ") and pairs[0].endswith(" pride parade") and " gay " not in pairs[0]
    assert pairs[0].split()[1] in ADJECTIVES
    assert pairs[1].split()[0].lower() in PLURALS and pairs[1] != texts[1]
    first, _, second = pairs[4].split()
    assert first.isupper() and first.lower() == second and second in ADJECTIVES and second != "gay"


def test_pairing_without_positives_keeps_only_rows_whose_every_supervised_label_is_negative() -> None:
    texts = ["you are so gay", "a gay couple moved in", "muslims are rats", "the muslim vote", "nice photo"]
    toxic = OUTPUTS.index("toxicity")
    attack = OUTPUTS.index("identity_attack")
    targets = [[0.0] * len(OUTPUTS) for _ in texts]
    targets[0][toxic] = 1.0
    targets[2][attack] = 1.0
    masks = [[1.0] * len(OUTPUTS) for _ in texts]
    masks[3][attack] = 0.0
    targets[3][attack] = 1.0  # not supervised in this row's family: it does not make the row positive
    examples = Examples(texts, targets, masks)
    every = paired_rows(examples, TrainOptions(seed=0))
    assert set(every) == {0, 1, 2, 3}
    negatives = paired_rows(examples, TrainOptions(seed=0, pair_positives=False))
    assert negatives == {row: every[row] for row in (1, 3)}  # the same twins, the positive rows left out


def test_positive_twins_copy_only_positive_rows_that_name_a_group_and_differ_from_each_other() -> None:
    texts = ["muslims are rats", "you gay idiot", "the muslim vote", "you idiot", "jews are rats"]
    positive = np.array([True, True, False, True, True])
    twins = positive_twins(texts, positive, per_row=3, seed=0)
    assert {row for row, _ in twins} == {0, 1, 4}  # "the muslim vote" is negative, "you idiot" names no group
    assert len(twins) == len(set(twins)) and all(text != texts[row] for row, text in twins)
    assert all(text.endswith(" are rats") and text.split()[0] in PLURALS for row, text in twins if row in (0, 4))
    assert all(text.startswith("you ") and text.split()[1] in ADJECTIVES for row, text in twins if row == 1)
    assert len([row for row, _ in twins if row == 0]) > 1  # several different groups for one row
    assert positive_twins(texts, positive, per_row=0, seed=0) == []
