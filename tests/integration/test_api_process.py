"""`moderation api` as operators run it: a separate process with two worker processes, stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from moderation.cli import cli
from tests.conftest import PROJECT_ROOT, write_config
from tests.integration.loopback import free_port

READY_DEADLINE_SECONDS = 240


def test_two_workers_serve_requests_and_sigterm_stops_them_cleanly(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "moderation.toml", sqlite_url, f'[api]\nscorer = "fast"\nport = {port}\nworkers = 2\n'
    )
    created = CliRunner().invoke(cli, ["api-key", "create", "site", "--config", str(config)])
    key = created.stdout.strip().splitlines()[-1]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "moderation", "api", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for_readiness(url, server)
        answer = httpx.post(
            f"{url}/v1alpha1/comments:analyze",
            params={"key": key},
            json={"comment": {"text": "You are a complete idiot."}, "requestedAttributes": {"INSULT": {}}},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=120)
    log = output.decode("utf-8", errors="replace")
    assert server.returncode == 0, log
    assert log.count("Started server process") == 2
    access = [json.loads(line) for line in log.splitlines() if line.startswith('{"event": "request"')]
    assert {"path": "/v1alpha1/comments:analyze", "status": 200, "key": "site"}.items() <= next(
        entry for entry in access if entry["path"] == "/v1alpha1/comments:analyze"
    ).items()
    assert "idiot" not in log
    assert key not in log


def _wait_for_readiness(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moderation api exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=60).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    raise RuntimeError("moderation api did not become ready")
