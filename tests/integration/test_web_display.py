"""Names and texts cannot fake other names or reorder the page: invisible characters are shown, bidi isolated;
long texts are folded on queue cards."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from moderation.config import Settings
from tests.conftest import seed_review_queue
from tests.integration.conftest import item_id_of, login

IMPOSTOR = "\u202egrebdniL eeL"
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def _seed(settings: Settings, tmp_path: Path, *records: dict[str, object]) -> None:
    path = tmp_path / "display.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    seed_review_queue(settings.database.url, path, source_name="display")


def test_a_right_to_left_override_in_an_author_never_renders_as_the_name_it_fakes(
    client: TestClient, web_settings: Settings, tmp_path: Path
) -> None:
    record = {"id": "rlo1", "post_id": "p1", "author": IMPOSTOR, "created_at": "2026-01-04T08:00:00Z"}
    _seed(web_settings, tmp_path, {**record, "text": "You idiot, Slaven."})
    login(client, "alice")
    item_id = item_id_of(client, "rlo1")
    for page in (client.get("/queue/pending").text, client.get(f"/items/{item_id}").text):
        assert "\u202e" not in page  # so the browser never shows "Lee Lindberg" for it (the real one is c6)
        assert page.count("grebdniL eeL") == page.count("<bdi>&lt;U+202E&gt;grebdniL eeL</bdi>") > 0

    page = client.get(f"/items/{item_id}").text
    line = re.search(r'<li class="thread-comment current">(.*?)</li>', page, re.S)
    assert line, "no thread line for the comment"
    assert BIDI_CONTROLS.search(line.group(1)) is None
    order = [
        line.group(1).index("<bdi>&lt;U+202E&gt;grebdniL eeL</bdi>"),
        line.group(1).index("<bdi>rlo1</bdi> · 2026-01-04 08:00 UTC"),
        line.group(1).index('class="status status-pending"'),
    ]
    assert order == sorted(order)


def test_a_zero_width_space_in_a_name_is_shown(client: TestClient, web_settings: Settings, tmp_path: Path) -> None:
    _seed(web_settings, tmp_path, {"id": "zw1", "post_id": "p1", "author": "Lee\u200bLindberg", "text": "You idiot."})
    login(client, "alice")
    page = client.get(f"/items/{item_id_of(client, 'zw1')}").text
    assert "\u200b" not in page and "<bdi>Lee&lt;U+200B&gt;Lindberg</bdi>" in page


def test_comment_text_is_isolated_so_its_direction_cannot_leak(
    client: TestClient, web_settings: Settings, tmp_path: Path
) -> None:
    _seed(web_settings, tmp_path, {"id": "t1", "post_id": "p1", "author": "Ann", "text": "You idiot \u202e 1234"})
    login(client, "alice")
    page = client.get("/queue/pending").text
    assert re.search(r'<p class="text"><bdi>You <mark[^>]*>idiot</mark> \u202e 1234</bdi></p>', page)
