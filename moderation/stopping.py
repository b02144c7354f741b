"""A clean stop on SIGTERM: the batch being scored finishes and is saved, batches not yet claimed are left
for the next run, and a second SIGTERM ends the process at once (an open transaction is rolled back, so
nothing is half-written and PostgreSQL releases the claimed rows).

Prefect's flow engine, in the main thread, turns SIGTERM into an exception that abandons the flow while
its worker threads go on scoring. So `moderation run` runs the flow in a worker thread, where Prefect
leaves signals alone, and the main thread's handler only sets STOP, which each batch checks before it
claims its comments.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

STOPPED_EXIT_CODE = 128 + signal.SIGTERM
STOP = threading.Event()
"""Set on SIGTERM while `stop_on_sigterm` is active; batches not yet started are skipped."""

T = TypeVar("T")


def stop_requested() -> bool:
    return STOP.is_set()


@contextmanager
def stop_on_sigterm() -> Iterator[threading.Event]:
    """While active (in the main thread), the first SIGTERM sets STOP; the second ends the process."""
    STOP.clear()  # a new run (tests run several in one process)
    if threading.current_thread() is not threading.main_thread():
        yield STOP  # only the main thread may take signals; whoever runs us there decides on stopping
        return
    previous = signal.signal(signal.SIGTERM, _request_stop)
    try:
        yield STOP
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_stoppable(work: Callable[[], T]) -> T:
    """`work()` in a worker thread, the main thread free to take SIGTERM (see the module's docstring).

    The thread is a daemon, so Ctrl-C still ends the process at once, as it did before.
    """
    outcome: Future[T] = Future()

    def run() -> None:
        try:
            outcome.set_result(work())
        except BaseException as exc:  # handed to the caller as it is
            outcome.set_exception(exc)

    worker = threading.Thread(target=run, name="stoppable run", daemon=True)
    with stop_on_sigterm():
        worker.start()
        worker.join()
    return outcome.result()


def _request_stop(signum: int, frame: FrameType | None) -> None:
    if STOP.is_set():
        os._exit(STOPPED_EXIT_CODE)  # asked twice: abandon the batch; its transaction is never committed
    STOP.set()
