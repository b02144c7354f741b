"""Moderators' decisions (`moderation export-labels` JSON lines) as extra training rows for the fast model.

A rejected item is a positive for each label that flagged it; an approved one a negative for them. Only
flagged comments reach moderators, so decisions alone would teach the model that everything it flags is
suspect: a sample of unflagged comments joins them as presumed negatives (nobody checked them), and every
label a decided item was not flagged for counts as a presumed negative too. The report says so
(`CAVEAT`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moderation.training.data import LabelSource, Table, TrainingDataError

if TYPE_CHECKING:
    from moderation.training.fast import TrainSettings

FAMILY = "moderator_decisions"
FLAG_TO_OUTPUT = {"attack_on_commenter": "attack"}
"""A flag whose output has another name in the fast model (the thread layer's attack comes from `attack`)."""
CAVEAT = (
    "Only comments the scorer flagged reach moderators, so decisions are a sample selected by the model "
    "itself: a rejection is a positive for the labels that flagged the item, an approval a negative for them, "
    "every other label is presumed negative, and the unflagged comments added are presumed negatives nobody "
    "checked. Figures measured on the dev files are unaffected by this; precision on the site's own traffic "
    "is not measured here."
)


@dataclass(frozen=True)
class Decision:
    text: str
    flags: tuple[str, ...]
    rejected: bool
    key: str


@dataclass(frozen=True)
class Decisions:
    records: list[Decision]
    skipped: list[str]
    """One line per record left out: its line number and why."""


def read_decisions(path: Path) -> Decisions:
    """The approved and rejected records of an export-labels file; a bad line is skipped with its reason."""
    if not path.is_file():
        raise TrainingDataError(f"{path}: not found; write it with `moderation export-labels --output {path}`")
    records, skipped = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(_decision(json.loads(line)))
        except (ValueError, TypeError, KeyError) as exc:
            skipped.append(f"{path.name}:{number}: {exc}")
    return Decisions(records, skipped)


def _decision(data: Any) -> Decision:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    decision, text, flags = data["decision"], data["text"], data.get("flags") or {}
    if decision not in ("approved", "rejected"):
        raise ValueError(f"decision is {decision!r}, not approved or rejected")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("no text (purged?)")
    if not isinstance(flags, dict):
        raise ValueError("flags is not an object")
    key = f"{data.get('source')}:{data.get('comment_id')}:{data.get('content_hash')}"
    return Decision(text, tuple(sorted(flags)), decision == "rejected", key)


def decisions_table(decisions: Sequence[Decision], unflagged: Sequence[str], outputs: Sequence[str]) -> Table:
    """The decisions and the unflagged sample as one training table with a 0/1 column per output."""
    texts = [d.text for d in decisions] + list(unflagged)
    ids = [f"decision-{d.key}" for d in decisions] + [f"unflagged-{n}" for n in range(len(unflagged))]
    columns = {}
    for output in outputs:
        positive = [d.rejected and output in {FLAG_TO_OUTPUT.get(f, f) for f in d.flags} for d in decisions]
        columns[output] = np.array(positive + [False] * len(unflagged), dtype=np.float64)
    digest = hashlib.sha256("\n".join(f"{i}\t{t}" for i, t in zip(ids, texts, strict=True)).encode()).hexdigest()
    return Table(f"{FAMILY}.train", ids, texts, columns, digest, {})


def with_decisions(settings: TrainSettings, table: Table) -> TrainSettings:
    """`settings` with `table` as one more training source of every output (never of calibration)."""
    family = table.name.partition(".")[0]

    def add(sources: dict[str, tuple[LabelSource, ...]]) -> dict[str, tuple[LabelSource, ...]]:
        return {name: (*found, LabelSource(family, (name,))) for name, found in sources.items()}

    return replace(
        settings, label_sources=add(settings.label_sources), auxiliary_sources=add(settings.auxiliary_sources)
    )


def provenance(decisions: Sequence[Decision], unflagged: int, skipped: int) -> dict[str, Any]:
    """What model.json records about the decisions it learned from (the report shows it)."""
    return {
        "decided": len(decisions),
        "rejected": sum(d.rejected for d in decisions),
        "approved": sum(not d.rejected for d in decisions),
        "unflagged_presumed_negative": unflagged,
        "skipped": skipped,
        "caveat": CAVEAT,
    }
