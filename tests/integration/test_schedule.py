"""`moderation serve` against a real Prefect server on loopback: scheduled runs fire and process new comments."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, write_config

pytestmark = pytest.mark.slow

# Upper bounds for a slow, busy CI machine; each wait returns as soon as its condition holds.
STARTUP_SECONDS = 180
RUN_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Callable[[], bool], seconds: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in logs if log.exists())
    raise AssertionError(f"{what} within {seconds} s\n{tails}")


def _stop(process: subprocess.Popen[bytes], how: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def prefect_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A `prefect server start` of its own (own PREFECT_HOME, free loopback port); the env that talks to it."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1",
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]),
    )
    log = tmp_path / "prefect-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(healthy, STARTUP_SECONDS, "prefect server did not answer", [log])
        yield {**env, "PREFECT_API_URL": api, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    finally:
        _stop(server)


def _scored(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=1) as connection:
            return int(connection.execute("SELECT count(*) FROM scores").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet, or busy


def test_scheduled_runs_fire_and_process_new_comments(
    prefect_env: dict[str, str], seed_project: Path, tmp_path: Path
) -> None:
    db_path = tmp_path / "scheduled.db"
    config = write_config(seed_project / "c.toml", f"sqlite:///{db_path}", "[schedule]\ninterval_seconds = 3\n")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serving = subprocess.Popen(
            [sys.executable, "-m", "moderation", "serve", "--config", str(config)],
            cwd=seed_project,
            env=prefect_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    logs = [log, tmp_path / "prefect-server.log"]
    try:
        _wait(lambda: _scored(db_path) == 11, RUN_SECONDS, "the seed thread was not scored by a scheduled run", logs)
        with (seed_project / "examples" / "seed_thread.jsonl").open("a") as thread:
            thread.write(json.dumps({"id": "c12", "post_id": "post-belenko", "author": "Ann", "text": "Late one."}))
            thread.write("\n")
        _wait(lambda: _scored(db_path) == 12, RUN_SECONDS, "a later scheduled run did not score c12", logs)
    finally:
        _stop(serving, signal.SIGINT)
    assert "serving moderate/scheduled: every 3 s" in log.read_text()


def _deployment(api: str) -> dict[str, object] | None:
    try:
        response = httpx.get(f"{api}/deployments/name/moderate/scheduled", timeout=5)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


def test_stopping_serve_leaves_the_schedule_active_for_the_next_start(
    prefect_env: dict[str, str], seed_project: Path, tmp_path: Path
) -> None:
    never_soon = '[schedule]\ncron = ["0 0 1 1 *"]\n'
    config = write_config(seed_project / "c.toml", f"sqlite:///{tmp_path / 'm.db'}", never_soon)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serving = subprocess.Popen(
            [sys.executable, "-m", "moderation", "serve", "--config", str(config)],
            cwd=seed_project,
            env=prefect_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = prefect_env["PREFECT_API_URL"]
    logs = [log, tmp_path / "prefect-server.log"]
    try:
        # READY: the runner has started and polled for runs, so stopping it now runs its shutdown.
        _wait(lambda: (_deployment(api) or {}).get("status") == "READY", RUN_SECONDS, "serve did not start", logs)
    finally:
        _stop(serving, signal.SIGINT)
    assert serving.returncode is not None
    deployment = _deployment(api)
    assert deployment is not None
    assert deployment["paused"] is False
    assert "the schedule stays active" in log.read_text()
