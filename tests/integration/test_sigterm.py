"""`moderation run` on SIGTERM mid-scoring: finishes the batch, leaves the rest, one line, non-zero exit."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from moderation.stopping import STOPPED_EXIT_CODE
from moderation.storage.engine import database
from moderation.storage.tables import CommentRow, ScoreRow
from tests.conftest import PROJECT_ROOT, write_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

COMMENTS = 30
BATCH = 10
STARTUP_SECONDS = 300  # a temporary Prefect server starts first; slow on a busy machine


def _source(tmp_path: Path) -> str:
    path = tmp_path / "comments.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n in range(COMMENTS):
            record = {"id": f"c{n}", "post_id": "p1", "author": f"user{n % 4}", "text": f"Comment number {n}."}
            out.write(json.dumps(record) + "\n")
    return f'[[sources]]\nname = "file"\nkind = "jsonl"\npath = "{path}"\n'


def _run(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    script = PROJECT_ROOT / "tests" / "integration" / "stoppable_run.py"
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(script), "run", "--config", str(config)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_for(path: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"scoring never started:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)  # polls for a condition; the assertion never depends on how long this takes


def _counts(url: str) -> tuple[int, int, int]:
    with database(url).session() as session:
        comments = int(session.scalar(select(func.count(CommentRow.id))) or 0)
        scores = int(session.scalar(select(func.count(ScoreRow.comment_id))) or 0)
        distinct = int(session.scalar(select(func.count(func.distinct(ScoreRow.comment_id)))) or 0)
    return comments, scores, distinct


def test_sigterm_mid_batch_saves_that_batch_leaves_the_rest_and_the_next_run_scores_it(
    tmp_path: Path, postgres_url: str
) -> None:
    extra = f'[scoring]\nscorer = "waits-for-stop"\nbatch_size = {BATCH}\n[runner]\nn_workers = 1\n'
    config = write_config(tmp_path / "c.toml", postgres_url, extra, sources=_source(tmp_path))
    started = tmp_path / "started"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        STARTED_FILE=str(started),
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]),
    )
    first_log = tmp_path / "first.log"
    first = _run(config, env, first_log)
    _wait_for(started, first, first_log)

    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=STARTUP_SECONDS) == STOPPED_EXIT_CODE, first_log.read_text(errors="replace")

    output = first_log.read_text(errors="replace")
    # The temporary Prefect server shares the output and may log its own shutdown; our code must not fail.
    assert "TerminationSignal" not in output
    assert not re.search(r'File "[^"]*(/moderation/|/flows/)', output), output
    stopped = [line for line in output.splitlines() if line.startswith("stopped on SIGTERM")]
    assert stopped == [f"stopped on SIGTERM: {BATCH} comments scored and saved, 2 batches left for the next run"]
    assert _counts(postgres_url) == (COMMENTS, BATCH, BATCH)

    second_log = tmp_path / "second.log"
    second = _run(config, env, second_log)
    assert second.wait(timeout=STARTUP_SECONDS) == 0, second_log.read_text(errors="replace")
    assert f"scored {COMMENTS - BATCH} comments" in second_log.read_text()
    assert _counts(postgres_url) == (COMMENTS, COMMENTS, COMMENTS)
