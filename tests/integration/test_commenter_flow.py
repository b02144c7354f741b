"""Commenter rules and reader reports through the `moderate` flow under a real (temporary) Prefect server."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.moderate import moderate
from moderation.models import REPORTED
from moderation.pipeline import database
from moderation.review.commenters import set_state
from moderation.review.queue import list_items
from tests.conftest import write_config
from tests.integration.test_commenters import CIVIL, NOW, ROOT, _record, _write

pytestmark = pytest.mark.usefixtures("prefect_harness")

POLICY = """
[policy.reports]
queue_at = 2

[policy.commenters]
review_first = 1
"""


def test_the_flow_queues_reported_and_new_commenters_and_rejects_the_banned(db_url: str, tmp_path: Path) -> None:
    comments = _write(tmp_path / "c.jsonl", [_record(1, CIVIL, author_id="5")])
    sources = f'[[sources]]\nname = "blog"\nkind = "jsonl"\npath = "{comments}"\n'
    config = write_config(tmp_path / "c.toml", db_url, POLICY, sources=sources)
    moderate(str(config))  # user 5's first comment: reviewed
    set_state(database(db_url), "blog", "user:9", "banned", actor=ROOT, now=NOW)
    _write(
        comments,
        [
            _record(2, CIVIL, author_id="5", reports={"count": 2, "reasons": ["spam"]}),
            _record(3, CIVIL, author_id="5"),
            _record(4, CIVIL, author_id="9"),
        ],
    )
    summary = moderate(str(config))
    assert summary.scored == 3
    pending = {e.comment_id: e.reasons for e in list_items(database(db_url))}
    assert pending == {"c1": {"new_commenter": 1.0}, "c2": {REPORTED: 2.0}}
    assert [e.comment_id for e in list_items(database(db_url), "rejected")] == ["c4"]
