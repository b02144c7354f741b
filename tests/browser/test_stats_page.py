"""The stats page in a real browser: charts drawn from a seeded history, styled by the app's CSS, no script."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from moderation.storage.engine import database
from tests.browser.conftest import ARTIFACTS, PASSWORD, LiveServer
from tests.integration.stats_seed import seed_history

pytestmark = pytest.mark.browser


def test_stats_page_draws_the_seeded_numbers(page: Page, live_server: LiveServer) -> None:
    # The example thread (c6 and c10 flagged on Jan 5, 11 comments scored) plus tests/integration/stats_seed.py.
    seed_history(database(live_server.db_url))
    base = live_server.url
    page.goto(f"{base}/stats?since=2026-01-05&until=2026-01-07")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(f"{base}/stats?since=2026-01-05&until=2026-01-07")

    expect(page.locator("#scored")).to_have_text("16")
    expect(page.locator("#flagged")).to_have_text("6")
    expect(page.locator("#decisions")).to_have_text("6")
    expect(page.locator("#median")).to_have_text("90 min")
    expect(page.locator("#p90")).to_have_text("22.0 h")

    flagged = page.locator("svg[data-chart=flagged] rect.bar")
    assert [flagged.nth(n).get_attribute("data-value") for n in range(3)] == ["5", "1", "0"]
    assert flagged.nth(0).bounding_box()["height"] > 5 * flagged.nth(1).bounding_box()["height"] * 0.9  # type: ignore[index]
    assert flagged.nth(0).evaluate("bar => getComputedStyle(bar).fill") == "rgb(31, 95, 191)"
    dots = page.locator("svg[data-chart=backlog] rect.dot")
    assert [dots.nth(n).get_attribute("data-value") for n in range(4)] == ["1", "4", "4", "3"]
    decisions = page.locator("svg[data-chart=decisions] rect.bar")
    assert [decisions.nth(n).get_attribute("data-value") for n in range(3)] == ["2", "3", "1"]
    assert decisions.nth(1).evaluate("bar => getComputedStyle(bar).fill") == "rgb(180, 35, 24)"
    expect(page.locator('#by-label tr[data-label="insult"]')).to_contain_text("50.0%")
    expect(page.locator('#moderators tr[data-moderator="bob"]')).to_contain_text("1")
    assert page.evaluate("document.scripts.length") == 1, "only the app's own keys.js"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stats.png"), full_page=True)

    seven_days = page.locator(".quick a", has_text="7 days")
    since, until = re.findall(r"\d{4}-\d{2}-\d{2}", seven_days.get_attribute("href") or "")
    seven_days.click()
    expect(page.locator("h1")).to_contain_text(f"{since} to {until}")
