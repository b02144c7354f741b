"""Expected failures (a source that is down, a wrong password, a bad config) are one line in Prefect's
logs instead of a traceback: the message says what went wrong and how to fix it, and the traceback would
only bury it. MODERATION_DEBUG=1 (`moderation --debug`) keeps the tracebacks."""

from __future__ import annotations

import logging
import os

from moderation.errors import ModerationError

DEBUG_VARIABLE = "MODERATION_DEBUG"
PREFECT_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs", "prefect.flow_engine", "prefect.task_engine")
"""The loggers Prefect's engines report failed runs on (to the console and to the server)."""


def debugging() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


class OneLineForExpectedFailures(logging.Filter):
    """Drops the traceback of a record whose exception is one of ours; keeps the record and its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], ModerationError) and not debugging():
            record.exc_info = None
            record.exc_text = None
        return True


def one_line_for_expected_failures() -> None:
    """Install the filter on Prefect's run loggers (once per process; safe to call again)."""
    for name in PREFECT_RUN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, OneLineForExpectedFailures) for existing in logger.filters):
            logger.addFilter(OneLineForExpectedFailures())
