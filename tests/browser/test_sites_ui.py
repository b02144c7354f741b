"""Several sites in a real browser: the source filter, and a moderator limited to one source."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from moderation.review.accounts import add_user
from moderation.review.queue import QueueFilter, list_items
from moderation.storage.engine import database
from tests.browser.conftest import ARTIFACTS, PASSWORD, LiveServer
from tests.conftest import seed_review_queue

pytestmark = pytest.mark.browser


@pytest.fixture
def two_sites(live_server: LiveServer) -> LiveServer:
    """The live server's database with the example thread read a second time as source "forum" (the same
    post and comment ids), and carol, who reviews only the forum."""
    seed_review_queue(live_server.db_url, source_name="forum")
    add_user(database(live_server.db_url), "carol", PASSWORD, "moderator", datetime.now(UTC), sources=["forum"])
    return live_server


def _log_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/queue/pending")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(f"{base}/queue/pending")


def test_the_source_filter_shows_one_sites_items(page: Page, two_sites: LiveServer) -> None:
    _log_in(page, two_sites.url, "alice")
    expect(page.locator("li.card")).to_have_count(4)
    page.select_option("select[name=source]", "forum")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"source=forum"))
    expect(page.locator("li.card")).to_have_count(2)
    expect(page.locator('li.card[data-source="examples"]')).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "queue-source-filter.png"), full_page=True)


def test_a_moderator_limited_to_one_source_sees_and_opens_only_its_items(page: Page, two_sites: LiveServer) -> None:
    _log_in(page, two_sites.url, "carol")
    expect(page.locator("li.card")).to_have_count(2)
    expect(page.locator('li.card[data-source="forum"]')).to_have_count(2)
    expect(page.locator("select[name=source]")).to_have_count(0)

    other = list_items(database(two_sites.db_url), filters=QueueFilter(source="examples"))[0]
    # With the tab's login; not a navigation, which would log the 404 as a console error the fixture refuses.
    answer = page.request.get(f"{two_sites.url}/items/{other.id}")
    assert answer.status == 404
    assert f"no queue item #{other.id}" in answer.text()
    assert other.text[:30] not in answer.text()
