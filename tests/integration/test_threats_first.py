"""Issue 13, "Threats first", end to end: `moderation run` with a scorer that produces Detoxify's six labels
(a test plugin with fixed scores), a real (temporary) Prefect server and a loopback webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.cli import cli
from moderation.models import CommentScore
from moderation.review.queue import list_items
from moderation.scoring.base import register_text_scorer
from moderation.storage.engine import database
from tests.conftest import write_config
from tests.integration.loopback import WebhookServer

SIX_LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
THREAT = "I know where you live. I will find you and kill you"
COMMENTS = {  # id: (text, the scores the test scorer gives it; every other label 0.01)
    "threat": (THREAT, {"toxicity": 0.97, "threat": 0.6}),
    "mild-insult": ("You're being a bit of a clown about this.", {"toxicity": 0.5, "insult": 0.55}),
    "toxic": ("What a load of garbage, the whole lot of it.", {"toxicity": 0.99}),
    "identity": ("People like them should not be allowed here.", {"toxicity": 0.99, "identity_attack": 0.99}),
    "civil": ("Thanks for the article.", {}),
}
SCORES = {text: scores for text, scores in COMMENTS.values()}

# Severe alerts by score threshold are switched off: only the urgent-label rule can fire one here.
CONFIG = """
[scoring]
scorer = "six-label-test"
[alerts]
base_url = "https://mod.example.org"
[alerts.severe]
thresholds = {}
[alerts.pile_on]
flagged = 0
attacks = 0
[[alerts.channels]]
name = "hook"
kind = "webhook"
url_env = "MODERATION_TEST_WEBHOOK"
"""


class SixLabelTestScorer:
    """Detoxify's six labels with the fixed scores of COMMENTS: what a retrained model would say."""

    name = "six-label-test"
    version = "six-label-test-1"
    labels = SIX_LABELS

    def score_texts(self, texts: Sequence[str]) -> list[CommentScore]:
        return [CommentScore({label: SCORES[text].get(label, 0.01) for label in SIX_LABELS}) for text in texts]


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        monkeypatch.setenv("MODERATION_TEST_WEBHOOK", server.url)
        yield server


@pytest.mark.usefixtures("prefect_harness")
def test_the_threat_from_the_issue_is_queued_first_with_reason_threat_and_fires_the_severe_alert(
    tmp_path: Path, sqlite_url: str, webhook: WebhookServer
) -> None:
    register_text_scorer("six-label-test", lambda settings, variant: SixLabelTestScorer())
    source = tmp_path / "comments.jsonl"
    source.write_text(
        "".join(
            json.dumps(
                {
                    "id": cid,
                    "post_id": "p1",
                    "author": f"user-{cid}",
                    "created_at": "2026-03-01T10:00:00Z",
                    "text": text,
                }
            )
            + "\n"
            for cid, (text, _) in COMMENTS.items()
        )
    )
    sources = f'[[sources]]\nname = "site"\nkind = "jsonl"\npath = "{source}"\n'
    config = write_config(tmp_path / "c.toml", sqlite_url, CONFIG, sources=sources)

    result = CliRunner().invoke(cli, ["run", "--config", str(config)])

    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output  # the scorer produces every label the default config names
    queue = list_items(database(sqlite_url))
    assert [entry.comment_id for entry in queue] == ["threat", "identity", "toxic", "mild-insult"]
    assert queue[0].reasons["threat"] == 0.6
    (alert,) = webhook.bodies()
    assert (alert["kind"], alert["facts"]["flagged_for"]) == ("severe", ["threat"])
    assert [comment["comment_id"] for comment in alert["comments"]] == ["threat"]
    assert alert["summary"] == "A comment flagged for threat."
