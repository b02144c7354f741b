"""Prefect's run loggers: our own errors are one line, anything else keeps its traceback."""

from __future__ import annotations

import io
import logging

import pytest

from moderation.errors import SourceError
from moderation.failure_logging import DEBUG_VARIABLE, one_line_for_expected_failures


def _logged(exc: Exception) -> str:
    """What a handler on Prefect's task-run logger writes when a task fails with `exc`."""
    one_line_for_expected_failures()
    logger = logging.getLogger("prefect.task_runs")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        try:
            raise exc
        except Exception:
            logger.error("Task run failed with exception: %r", exc, exc_info=True)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_an_expected_failure_is_logged_as_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEBUG_VARIABLE, raising=False)
    text = _logged(SourceError("source blog: GET http://127.0.0.1:1/ failed"))
    assert "Traceback" not in text
    assert text.strip().count("\n") == 0 and "source blog: GET" in text


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEBUG_VARIABLE, raising=False)
    assert "Traceback (most recent call last)" in _logged(KeyError("oops"))


def test_debug_keeps_the_traceback_of_an_expected_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEBUG_VARIABLE, "1")
    assert "Traceback (most recent call last)" in _logged(SourceError("source blog: down"))
