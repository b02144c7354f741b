"""The moderate flow under a real (temporary) Prefect server, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from flows.moderate import moderate
from moderation.errors import ScoringError
from moderation.models import CommentScore
from moderation.review.queue import list_items
from moderation.scoring.attack import ATTACK_VERSION
from moderation.scoring.base import register_text_scorer
from moderation.scoring.lexicon import LexiconScorer
from moderation.storage.engine import database
from moderation.storage.tables import ModerationActionRow, QueueItemRow, RejectedInputRow, ScoreRow, WatermarkRow
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _counts(db_url: str) -> dict[str, int]:
    db = database(db_url)
    with db.session() as session:
        return {
            table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (ScoreRow, QueueItemRow, ModerationActionRow, RejectedInputRow)
        }


def test_seed_thread_run_queues_the_attack_on_slaven(seed_project: Path, db_url: str) -> None:
    config = write_config(seed_project / "c.toml", db_url)
    summary = moderate(str(config))
    assert summary.sources["examples"].new == 11
    assert summary.scored == 11
    queued = {entry.comment_id: entry for entry in list_items(database(db_url))}
    assert queued["c6"].attack_target == "Slaven"
    assert "attack_on_commenter" in queued["c6"].reasons
    assert {"c1", "c2", "c3", "c4", "c7", "c9", "c11"}.isdisjoint(queued)
    assert next(iter(queued)) == "c6"  # the attack is the most severe item


def test_rerunning_on_the_same_input_adds_nothing(seed_project: Path, db_url: str) -> None:
    config = write_config(seed_project / "c.toml", db_url)
    moderate(str(config))
    before = _counts(db_url)
    again = moderate(str(config))
    assert (again.sources["examples"].new, again.scored, again.flagged) == (0, 0, 0)
    assert _counts(db_url) == before


def test_appended_comments_are_picked_up_by_the_next_run(seed_project: Path, db_url: str) -> None:
    config = write_config(seed_project / "c.toml", db_url)
    moderate(str(config))
    with (seed_project / "examples" / "seed_thread.jsonl").open("a") as handle:
        handle.write(
            '{"id": "c12", "post_id": "post-belenko", "author": "Slaven", "parent_id": "c11", '
            '"text": "Mike, you are a moron."}\n'
        )
    summary = moderate(str(config))
    assert (summary.sources["examples"].new, summary.scored) == (1, 1)
    assert [item.attack_target for item in summary.flagged_items] == ["Mike"]


def test_bad_lines_are_recorded_and_the_rest_of_the_batch_goes_on(seed_project: Path, db_url: str) -> None:
    thread = seed_project / "examples" / "seed_thread.jsonl"
    lines = thread.read_text().splitlines()
    lines.insert(3, "{this is not json")
    lines.insert(5, '{"id": "empty", "author": "x", "text": ""}')
    thread.write_text("\n".join(lines) + "\n")
    summary = moderate(str(write_config(seed_project / "c.toml", db_url)))
    assert summary.sources["examples"].new == 11
    assert summary.sources["examples"].rejected == 2
    assert any(":4: invalid JSON" in problem for problem in summary.rejected)
    assert _counts(db_url)["rejected_inputs"] == 2


class CrashingScorer(LexiconScorer):
    """The lexicon scorer (same name and version) that dies on its second batch, however it is split
    (so the batch fails as a whole instead of its comments being isolated one by one)."""

    calls = 0
    dying: frozenset[str] = frozenset()

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        type(self).calls += 1
        if type(self).calls == 2:
            type(self).dying = frozenset(texts)
        if type(self).dying & set(texts):
            raise RuntimeError("scorer process killed")
        return super().score_texts(texts)


def test_a_crash_mid_run_loses_nothing_and_the_next_run_completes(seed_project: Path, db_url: str) -> None:
    CrashingScorer.calls, CrashingScorer.dying = 0, frozenset()
    register_text_scorer("crashing", lambda settings, variant: CrashingScorer())
    one_at_a_time = "[runner]\nn_workers = 1\n"
    crashing = write_config(
        seed_project / "crash.toml", db_url, f'[scoring]\nscorer = "crashing"\nbatch_size = 4\n{one_at_a_time}'
    )
    with pytest.raises(ScoringError, match="scorer process killed"):
        moderate(str(crashing))
    assert _counts(db_url)["scores"] == 4 + 3  # the batches before and after the crashed one were committed
    db = database(db_url)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WatermarkRow)) == 1  # stored, so read no more

    normal = write_config(
        seed_project / "normal.toml", db_url, f'[scoring]\nscorer = "lexicon"\nbatch_size = 4\n{one_at_a_time}'
    )
    summary = moderate(str(normal))
    assert (summary.sources["examples"].new, summary.scored) == (0, 4)
    assert _counts(db_url)["scores"] == 11
    assert _counts(db_url)["moderation_actions"] == 11
    assert "c6" in {entry.comment_id for entry in list_items(db)}


def test_scores_of_another_scorer_version_do_not_mix(seed_project: Path, sqlite_url: str) -> None:
    register_text_scorer("lexicon2", lambda settings, variant: _Renamed())
    moderate(str(write_config(seed_project / "a.toml", sqlite_url, '[scoring]\nscorer = "lexicon"')))
    summary = moderate(str(write_config(seed_project / "b.toml", sqlite_url, '[scoring]\nscorer = "lexicon2"')))
    assert summary.scored == 11
    db = database(sqlite_url)
    with db.session() as session:
        versions = set(session.scalars(select(ScoreRow.scorer_version)))
    assert versions == {f"lexicon-1+thread{ATTACK_VERSION}", f"lexicon-2+thread{ATTACK_VERSION}"}
    assert _counts(sqlite_url)["review_queue"] == len(list_items(db))  # one queue row per comment revision


class _Renamed(LexiconScorer):
    version = "lexicon-2"
