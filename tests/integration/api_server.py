"""`moderation api`'s app served by a real uvicorn on a free loopback port, in a thread, for the API tests.

The app gets a fixed clock (seconds since the epoch), so rate-limit windows never roll over mid-test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from moderation.api import create_app
from moderation.config import Settings, load_settings
from moderation.storage.engine import Database, database

FIXED_CLOCK = 1_767_600_000.0  # 2026-01-05 08:00 UTC; the start of a window of any length up to 10 minutes
STARTUP_DEADLINE_SECONDS = 300  # the default scorer loads its accurate tier before the server starts


@dataclass(frozen=True)
class RunningApi:
    url: str
    settings: Settings
    db: Database

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **options)  # type: ignore[arg-type]


@contextmanager
def running_api(config_path: Path) -> Iterator[RunningApi]:
    """The service for this config, started and ready (scorer loaded); stopped on leaving."""
    settings = load_settings(config_path)
    db = database(settings.database.url)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(settings, db=db, clock=lambda: FIXED_CLOCK)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    running = RunningApi(f"http://127.0.0.1:{port}", settings, db)
    try:
        _wait_until_ready(running, server, thread)
        yield running
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()


def _wait_until_ready(running: RunningApi, server: uvicorn.Server, thread: threading.Thread) -> None:
    """Uvicorn reports `started` once the app's startup (which loads the scorer) is done."""
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start; its log is above")
        time.sleep(0.05)
    with running.client() as client:
        ready = client.get("/readyz")
    if ready.status_code != 200:
        raise RuntimeError(f"the API is not ready: {ready.text}")
