"""The WordPress source against a loopback server that answers like the WordPress REST API."""

from __future__ import annotations

import base64
import html
import json
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from flows.moderate import moderate
from moderation.config import WordPressSourceSettings
from moderation.errors import SourceError
from moderation.review.queue import list_items
from moderation.sources.base import collect
from moderation.sources.wordpress import WordPressSource
from moderation.storage.engine import database
from tests.conftest import write_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SITE_OFFSET = timedelta(hours=2)  # the site's time zone: `date` is local, `date_gmt` is UTC
POST_ID = 42


class FakeWordPress:
    """Comments and the post of the seed thread, shaped like /wp-json/wp/v2 answers them."""

    def __init__(self) -> None:
        self.comments = [_wp_comment(json.loads(line)) for line in (EXAMPLES / "seed_thread.jsonl").open()]
        post = json.loads((EXAMPLES / "seed_post.json").read_text())
        self.post = {
            "id": POST_ID,
            "date_gmt": post["published_at"].rstrip("Z"),
            "title": {"rendered": html.escape(post["title"])},
            "content": {"rendered": f"<p>{html.escape(post['body'])}</p>\n"},
            "author": 1,
        }
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.password = "abcd efgh ijkl"
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, number: int, text: str, author: str, parent: int = 0, status: str = "approved") -> None:
        self.comments.append(_wp_comment({"id": f"c{number}", "author": author, "text": text}, parent, status))

    def edit(self, number: int, text: str) -> None:
        comment = next(c for c in self.comments if c["id"] == number)
        comment["content"] = {"rendered": _render(text)}

    def answer(self, path: str, query: dict[str, str], authorised: bool) -> tuple[int, Any, dict[str, str]]:
        self.requests.append((path, query))
        if path == "/wp-json/wp/v2/posts":
            wanted = set(query.get("include", "").split(","))
            post = (
                {**self.post, "_embedded": {"author": [{"id": 1, "name": "tim"}]}} if "_embed" in query else self.post
            )
            return 200, [post] if str(POST_ID) in wanted else [], {}
        if path != "/wp-json/wp/v2/comments":
            return 404, {"code": "rest_no_route", "message": "No route was found"}, {}
        status = {"approve": "approved", "hold": "hold"}[query.get("status", "approve")]
        if status != "approved" and not authorised:
            return 401, {"code": "rest_forbidden_param", "message": "Query parameter not permitted: status"}, {}
        found = [c for c in self.comments if c["status"] == status and c["date"] > query.get("after", "")]
        found.sort(key=lambda c: (c["date"], c["id"]))
        per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        pages = math.ceil(len(found) / per_page)
        if page > max(pages, 1):
            return 400, {"code": "rest_comment_invalid_page_number", "message": "The page number is too large"}, {}
        headers = {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)}
        return 200, found[(page - 1) * per_page : page * per_page], headers

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {key: values[-1] for key, values in parse_qs(url.query).items()}
                expected = "Basic " + base64.b64encode(f"bot:{site.password}".encode()).decode()
                status, body, headers = site.answer(url.path, query, self.headers.get("Authorization") == expected)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def comment_queries(self) -> list[dict[str, str]]:
        return [query for path, query in self.requests if path.endswith("/comments")]


def _wp_comment(record: dict[str, Any], parent: int = 0, status: str = "approved") -> dict[str, Any]:
    number = int(record["id"][1:])
    posted = datetime(2017, 8, 11, 9) + timedelta(minutes=5 * number)
    return {
        "id": number,
        "post": POST_ID,
        "parent": int(record["parent_id"][1:]) if record.get("parent_id") else parent,
        "author": 0,
        "author_name": record["author"],
        "date": (posted + SITE_OFFSET).isoformat(),
        "date_gmt": posted.isoformat(),
        "content": {"rendered": _render(record["text"])},
        "status": status,
        "type": "comment",
    }


def _render(text: str) -> str:
    """Roughly what wpautop and wptexturize make of a comment: paragraphs, <br />, entities."""
    paragraphs = [html.escape(p, quote=False).replace("\n", "<br />\n") for p in text.split("\n\n")]
    return "".join(f"<p>{p.replace(chr(39), '&#8217;')}</p>\n" for p in paragraphs)


@pytest.fixture
def wordpress() -> Iterator[FakeWordPress]:
    site = FakeWordPress()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()
    thread.join(timeout=5)


def _source(  # type: ignore[no-untyped-def]
    site: FakeWordPress,
    page_size: int = 100,
    environ: dict[str, str] | None = None,
    now: datetime | None = None,
    **options: Any,
):
    settings = WordPressSourceSettings.model_validate({"name": "blog", "kind": "wordpress", "url": site.url, **options})
    return WordPressSource(settings, environ=environ, page_size=page_size, now=now)


def test_comments_come_in_pages_with_their_post_and_html_as_text(wordpress: FakeWordPress) -> None:
    pages = list(_source(wordpress, page_size=4).pages(None))
    assert [len(page.comments) for page in pages] == [4, 4, 3]
    assert [q["page"] for q in wordpress.comment_queries()] == ["1", "2", "3"]  # X-WP-TotalPages says when to stop
    comments = {c.id: c for page in pages for c in page.comments}
    assert (comments["7"].parent_id, comments["1"].parent_id, comments["7"].post_id) == ("6", None, "42")
    assert comments["6"].text.startswith("Slaven, you’re an idiot! Why should his family")
    assert comments["6"].created_at == datetime(2017, 8, 11, 9, 30)
    post = pages[0].posts[0]
    assert (post.id, post.title, post.author) == (
        "42",
        "Russian Pilot Escaped to USA on Super Secret Air Force MiG-25 Jet",
        "tim",
    )
    assert pages[1].posts == []  # each post is asked for once per run


def test_the_next_run_asks_for_comments_written_within_the_lookback_before_the_run(wordpress: FakeWordPress) -> None:
    run = datetime(2017, 8, 11, 9, 55, tzinfo=UTC)  # comment 11's time in UTC: 11:55 on the site
    source = _source(wordpress, lookback_seconds=600, now=run)
    watermark = collect(source.pages(None), "blog").watermark
    assert watermark == {"date": "2017-08-11T11:55:00", "offset_seconds": 7200}  # comment 11, site time
    wordpress.add(12, "Mike, you are a moron.", "Slaven", parent=11)
    again = collect(source.pages(watermark), "blog")
    assert wordpress.comment_queries()[-1]["after"] == "2017-08-11T11:44:59"  # 600 s + 1 s before the run
    assert [c.id for c in again.comments] == ["9", "10", "11", "12"]  # comments are 5 minutes apart


def test_a_run_a_day_later_still_reads_from_the_newest_comment(wordpress: FakeWordPress) -> None:
    watermark = {"date": "2017-08-11T11:55:00", "offset_seconds": 7200}
    later = _source(wordpress, lookback_seconds=600, now=datetime(2017, 8, 12, 12, 0, tzinfo=UTC))
    collect(later.pages(watermark), "blog")
    assert wordpress.comment_queries()[-1]["after"] == "2017-08-11T11:54:59"  # nothing after the newest is missed


def test_held_comments_need_an_application_password(wordpress: FakeWordPress) -> None:
    wordpress.add(12, "waiting for approval", "Ann", status="hold")
    with pytest.raises(SourceError, match=r"source blog: reading hold comments needs user and password_env"):
        _source(wordpress, statuses=["hold"])
    env = {"WP_APP_PASSWORD": wordpress.password}
    held = _source(wordpress, environ=env, statuses=["hold"], user="bot", password_env="WP_APP_PASSWORD")
    assert [c.id for c in collect(held.pages(None), "blog").comments] == ["12"]


def test_a_site_that_does_not_answer_is_a_source_error() -> None:
    settings = WordPressSourceSettings(name="blog", kind="wordpress", url="http://127.0.0.1:1", timeout_seconds=2)
    with pytest.raises(SourceError, match=r"source blog: GET http://127.0.0.1:1/wp-json/wp/v2/comments failed"):
        list(WordPressSource(settings).pages(None))


@pytest.mark.usefixtures("prefect_harness")
def test_the_flow_queues_the_attack_and_rescores_an_edited_comment(
    wordpress: FakeWordPress, tmp_path: Path, sqlite_url: str
) -> None:
    sources = f'[[sources]]\nname = "blog"\nkind = "wordpress"\nurl = "{wordpress.url}"\n'
    config = str(write_config(tmp_path / "c.toml", sqlite_url, sources=sources))
    first = moderate(config)
    assert (first.sources["blog"].new, first.scored) == (11, 11)
    queued = {entry.comment_id: entry for entry in list_items(database(sqlite_url))}
    assert queued["6"].attack_target == "Slaven"
    wordpress.edit(11, "Douglas, you are an idiot.")  # the newest: the run re-reads from it (2017 is past the lookback)
    second = moderate(config)
    assert (second.sources["blog"].new, second.sources["blog"].updated, second.scored) == (0, 1, 1)
    assert queued.keys() < {entry.comment_id for entry in list_items(database(sqlite_url))}


def test_a_nul_in_a_name_is_replaced_and_an_overlong_name_rejects_only_that_comment(wordpress: FakeWordPress) -> None:
    wordpress.add(12, "a reply", "evil\u0000name")
    wordpress.add(13, "another reply", "a" * 300)
    batch = collect(_source(wordpress).pages(None), "blog")
    assert {c.id: c.author for c in batch.comments}["12"] == "evil\ufffdname"
    assert batch.repaired == ["comment 12: author: 1 NUL or lone surrogate character(s) replaced with U+FFFD"]
    assert [(r.location, r.error) for r in batch.rejected] == [
        ("comment 13", "author: longer than 255 characters (300)")
    ]
