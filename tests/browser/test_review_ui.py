"""A moderator's morning, in a real browser: log in, find the attack, reject it by keyboard, check the audit log."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, PASSWORD, LiveServer
from tests.conftest import seed_review_queue

pytestmark = pytest.mark.browser


def _keys_ready(page: Page) -> None:
    """Wait until the shortcut script is installed on the current page."""
    expect(page.locator("body")).to_have_attribute("data-keys", "ready")


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/queue/pending")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(f"{base}/queue/pending")
    _keys_ready(page)


def test_a_moderator_rejects_the_attack_on_slaven_by_keyboard(page: Page, live_server: LiveServer) -> None:
    base = live_server.url
    _log_in(page, base)

    attack = page.locator('li.card[data-comment="c6"]')
    expect(page.locator("li.card").first).to_have_attribute("data-comment", "c6")
    expect(attack.locator(".chip.target")).to_have_text("attack on Slaven")
    idiot = attack.locator("mark.evidence", has_text="idiot")
    expect(idiot).to_be_visible()
    assert idiot.evaluate("mark => getComputedStyle(mark).backgroundColor") == "rgb(255, 224, 138)"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

    page.keyboard.press("j")
    expect(attack).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("Enter")
    expect(page.locator("article.card")).to_have_attribute("data-comment", "c6")
    expect(page.locator(".claim")).to_have_text("You are reviewing this item.")
    _keys_ready(page)
    page.screenshot(path=str(ARTIFACTS / "item.png"), full_page=True)

    page.keyboard.press("r")
    page.keyboard.press("1")
    expect(page.locator("input[name=reason_code][value=personal_attack]")).to_be_checked()
    expect(page.locator("#reject-note")).to_be_focused()
    page.keyboard.type("calls Slaven an idiot")
    page.keyboard.press("Enter")

    expect(page.locator(".flash")).to_have_text(re.compile(r"Rejected item #\d+ \(c6\)\."))
    expect(page.locator("article.card")).to_have_attribute("data-comment", "c10")

    page.goto(f"{base}/queue/pending")
    expect(page.locator("li.card")).to_have_count(1)
    expect(attack).to_have_count(0)

    page.goto(f"{base}/audit")
    decision = page.locator('tr.action[data-comment="c6"]')
    expect(decision).to_contain_text("alice")
    expect(decision).to_contain_text("pending → rejected")
    expect(decision).to_contain_text("Personal attack: calls Slaven an idiot")


def test_question_mark_shows_the_shortcuts(page: Page, live_server: LiveServer) -> None:
    _log_in(page, live_server.url)
    help_panel = page.locator("#help")
    expect(help_panel).to_be_hidden()
    page.keyboard.press("?")
    expect(help_panel).to_be_visible()
    expect(help_panel).to_contain_text("escalate to an admin")
    page.keyboard.press("Escape")
    expect(help_panel).to_be_hidden()


def test_hostile_comment_text_runs_no_script_in_the_browser(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    payload = (
        'You idiot <script>window.pwned = "script"</script>'
        '<img src=x onerror="window.pwned = 1"> " onmouseover="window.pwned = 2"'
    )
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(json.dumps({"id": "h1", "post_id": "p", "author": "<b>mallory</b>", "text": payload}) + "\n")
    seed_review_queue(live_server.db_url, hostile, source_name="hostile")
    _log_in(page, live_server.url)

    card = page.locator('li.card[data-comment="h1"]')
    expect(card.locator("p.text")).to_contain_text('<script>window.pwned = "script"</script>')
    expect(card.locator(".author")).to_have_text("<b>mallory</b>")
    card.locator("p.text").hover()
    assert card.locator("p.text script, p.text img, .author b").count() == 0
    card.locator("a.open").click()
    expect(page.locator("article.card")).to_have_attribute("data-comment", "h1")
    page.locator("article.card p.text").hover()
    assert page.evaluate("window.pwned") is None
