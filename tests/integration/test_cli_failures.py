"""Expected failures through the real `moderation` command in a subprocess: one `Error:` line, no
traceback (Prefect's logs included), `--debug` for the traceback; a bad config before Prefect starts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, write_config
from tests.integration.test_wordpress_source import FakeWordPress

UNREACHABLE_PREFECT = "http://127.0.0.1:9/api"
"""Nothing listens there: a command that got as far as talking to Prefect would fail differently."""


def _moderation(
    *args: str, prefect_api: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "MODERATION_"))}
    environ.update(
        PREFECT_API_URL=prefect_api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]),
        **(env or {}),
    )
    return subprocess.run(
        [sys.executable, "-m", "moderation", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def prefect_api(prefect_harness: None) -> str:
    """The address of the test session's Prefect server, for commands run in a subprocess."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


@pytest.fixture
def wordpress() -> Iterator[FakeWordPress]:
    site = FakeWordPress()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()
    thread.join(timeout=5)


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error:")]


def test_unknown_config_key_is_reported_before_prefect_is_asked_anything(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path / 'm.db'}", "[scoring]\nscorrer = 'fast'\n")
    result = _moderation("run", "--config", str(config), prefect_api=UNREACHABLE_PREFECT, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: {config}: scoring.scorrer: unknown key\n",
    )


def _down_source_config(seed_project: Path) -> Path:
    sources = """
[runner]
retries = 1
retry_delay_seconds = [0]

[[sources]]
name = "blog"
kind = "wordpress"
url = "http://127.0.0.1:1"
timeout_seconds = 2

[[sources]]
name = "examples"
kind = "jsonl"
path = "examples/seed_thread.jsonl"
"""
    return write_config(seed_project / "c.toml", f"sqlite:///{seed_project / 'm.db'}", sources=sources)


def test_a_source_that_is_down_is_one_error_line_without_tracebacks(seed_project: Path, prefect_api: str) -> None:
    result = _moderation(
        "run", "--config", str(_down_source_config(seed_project)), prefect_api=prefect_api, cwd=seed_project
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    [error] = _error_lines(result)
    assert error.startswith("Error: source blog: GET http://127.0.0.1:1/wp-json/wp/v2/comments failed: ")
    assert error.endswith("; the other sources were processed")
    assert "source examples: 11 new" in result.stdout
    assert "SourceError" in result.stderr, "Prefect still logs the failed task, as one line"


def test_debug_shows_the_traceback_of_a_source_that_is_down(seed_project: Path, prefect_api: str) -> None:
    config = _down_source_config(seed_project)
    result = _moderation("--debug", "run", "--config", str(config), prefect_api=prefect_api, cwd=seed_project)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "httpx.ConnectError" in result.stderr
    assert len(_error_lines(result)) == 1


def test_a_wrong_application_password_is_one_error_line_without_tracebacks(
    wordpress: FakeWordPress, tmp_path: Path, prefect_api: str
) -> None:
    wordpress.add(12, "waiting for approval", "Ann", status="hold")
    sources = f"""
[runner]
retries = 0

[[sources]]
name = "blog"
kind = "wordpress"
url = "{wordpress.url}"
status = "hold"
user = "bot"
password_env = "WP_APP_PASSWORD"
"""
    config = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path / 'm.db'}", sources=sources)
    result = _moderation(
        "run", "--config", str(config), prefect_api=prefect_api, cwd=tmp_path, env={"WP_APP_PASSWORD": "wrong one"}
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    [error] = _error_lines(result)
    assert error.startswith("Error: source blog: GET ") and " answered 401: " in error
    assert "wrong one" not in result.stdout + result.stderr
