"""Fixtures for the review UI (a seeded database, two accounts, the app behind Starlette's TestClient)
and a real WordPress on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr

from moderation.config import DatabaseSettings, Settings, WebSettings
from moderation.review.accounts import add_user
from moderation.storage.engine import database
from moderation.web import create_app
from tests.conftest import SEED_TIME
from tests.integration.wordpress_site import WordPressSite, missing_packages, running_wordpress

PASSWORD = "correct horse battery"


@dataclass
class Clock:
    """The app's clock; tests move it forward."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def wordpress_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPressSite]:
    """One real WordPress for the test session (see tests/integration/wordpress_site.py), removed at the end."""
    missing = missing_packages()
    if missing is not None:
        pytest.skip(
            f"a real WordPress needs Debian's wordpress, php-cli and php-mysql (.ci/run installs them): {missing}"
        )
    with running_wordpress(tmp_path_factory.mktemp("wordpress")) as site:
        yield site


@pytest.fixture
def clock() -> Clock:
    return Clock(SEED_TIME + timedelta(hours=1))


@pytest.fixture
def web_settings(seeded_sqlite_url: str) -> Settings:
    """Settings for the seeded SQLite database, with alice (moderator) and root (admin) as accounts."""
    db = database(seeded_sqlite_url)
    add_user(db, "alice", PASSWORD, "moderator", SEED_TIME)
    add_user(db, "root", PASSWORD, "admin", SEED_TIME)
    return Settings(database=DatabaseSettings(url=seeded_sqlite_url), web=WebSettings(secret_key=SecretStr("test")))


@pytest.fixture
def client(web_settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """A logged-out browser on the review UI."""
    with TestClient(create_app(web_settings, clock=clock), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def alice(client: TestClient) -> TestClient:
    """`client`, logged in as the moderator alice."""
    assert login(client, "alice").status_code == 303
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> Response:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


def item_id_of(client: TestClient, comment_id: str, status: str = "pending") -> int:
    page = client.get(f"/queue/{status}").text
    found = re.search(rf'data-item="(\d+)" data-comment="{comment_id}"', page)
    assert found, f"{comment_id} is not in the {status} queue"
    return int(found.group(1))


def version_of(html: str) -> int:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "no decision form on the page"
    return int(found.group(1))
