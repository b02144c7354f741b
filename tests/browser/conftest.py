"""Browser tests: Debian's chromium, driven by Playwright, against the real app served by uvicorn on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr

from moderation.config import DatabaseSettings, Settings, WebSettings
from moderation.review.accounts import add_user
from moderation.storage.engine import database
from moderation.web import create_app
from tests.conftest import PROJECT_ROOT

CHROMIUM = os.environ.get("MODERATION_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless chromium per module (Debian's package; Playwright downloads nothing).

    Module scope, not session: Playwright's sync API keeps an event loop running in the main thread,
    which makes Prefect treat later tests' flow calls as async.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: `apt-get install chromium` (.ci/run does), or deselect with -m 'not browser'"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass(frozen=True)
class LiveServer:
    url: str
    db_url: str


@pytest.fixture
def live_server(seeded_sqlite_url: str) -> Iterator[LiveServer]:
    """The review UI on a free loopback port, over the seeded example thread, with the moderator alice."""
    db = database(seeded_sqlite_url)
    add_user(db, "alice", PASSWORD, "moderator", datetime.now(UTC))
    settings = Settings(database=DatabaseSettings(url=seeded_sqlite_url), web=WebSettings(secret_key=SecretStr("t")))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db=db), log_level="info", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review UI did not start; its log is above")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", seeded_sqlite_url)
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


@pytest.fixture
def page(browser: object, live_server: LiveServer) -> Iterator[object]:
    """A fresh browser tab; fails the test if the page logged a JavaScript error.

    It needs `live_server` so that pytest closes the tab before it stops the server: a request the page
    still makes after the test's last step (the favicon after a navigation) then never meets a closed port.
    """
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    tab.on("console", lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None)
    yield tab
    context.close()
    assert errors == []
