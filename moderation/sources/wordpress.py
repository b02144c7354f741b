"""WordPress comments through the REST API (`/wp-json/wp/v2/comments`), oldest first, 100 per page.

Statuses: without credentials only approved (public) comments are read; with a user and its
application password also held (`hold`), `spam` and `trash`, in edit context (which adds the
commenter's e-mail address, stored only as a hash). Each comment carries its status; a comment is
(source, id) whichever listing it came from, so one approved after being held is the same comment,
and its status change reaches the queue (see `store.save_batch`). `author` is the user id (0: guest).

The watermark is the newest comment date seen (`date`, the site's time zone, which is what the API's
`after=` filter compares with) and the site's offset from UTC. WordPress keeps no modified date for
comments, so each run also re-reads the `lookback_seconds` before the run (now): edits, late
approvals and status changes of comments written in that window are seen; older ones are not.
A reply whose parent is not in the page gets its parent (and the parent's author) fetched by id.
Comment HTML (`content.rendered`) is turned into plain text: tags dropped, entities decoded.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from moderation.config import WordPressSourceSettings, secret_from_env
from moderation.errors import SourceError
from moderation.models import Post, RejectedRecord
from moderation.sources.base import Batch, add_record, parse_post

API = "/wp-json/wp/v2"
PER_PAGE = 100  # the most WordPress returns per request
COMMENT_FIELDS = "id,post,parent,author,author_name,author_email,date,date_gmt,content,status,link"
PUBLIC = ("approve",)
WITH_PASSWORD = ("approve", "hold", "spam", "trash")
STATUS_NAMES = {"approve": "approved", "approved": "approved", "hold": "hold", "spam": "spam", "trash": "trash"}
"""Query value or answer value -> the status stored (WordPress answers `approved` for `status=approve`)."""
HTTPS_NEEDED = (
    "WordPress accepts application passwords only over HTTPS: use an https:// url "
    "(plain http works only for a site on this machine whose WP_ENVIRONMENT_TYPE is local)"
)


class WordPressSource:
    def __init__(
        self,
        settings: WordPressSourceSettings,
        environ: dict[str, str] | None = None,
        page_size: int = PER_PAGE,
        now: datetime | None = None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.page_size = page_size
        self.now = now or datetime.now(UTC)
        password = secret_from_env(settings.password_env, f"source {settings.name}: password_env", environ)
        if (settings.user is None) != (password is None):
            raise SourceError(f"source {settings.name}: set both user and password_env, or neither")
        self.auth = httpx.BasicAuth(settings.user, password.get_secret_value()) if settings.user and password else None
        self.statuses = tuple(settings.statuses or (WITH_PASSWORD if self.auth else PUBLIC))
        if self.auth is None and set(self.statuses) - set(PUBLIC):
            raise SourceError(
                f"source {self.name}: reading {', '.join(s for s in self.statuses if s not in PUBLIC)} comments "
                f"needs user and password_env (an application password); {HTTPS_NEEDED}"
            )
        if self.auth is not None and not secure_or_loopback(settings.url):
            raise SourceError(f"source {self.name}: {settings.url}: {HTTPS_NEEDED}")

    def pages(self, watermark: dict[str, Any] | None) -> Iterator[Batch]:
        newest, offset = (watermark or {}).get("date"), (watermark or {}).get("offset_seconds")
        params: dict[str, Any] = {"per_page": self.page_size, "orderby": "date", "order": "asc"}
        params["_fields"] = COMMENT_FIELDS
        if self.auth is not None:
            params["context"] = "edit"  # adds author_email; needs the moderate_comments capability
        if newest:
            params["after"] = self._after(newest, offset)
        known_posts: set[str] = set()
        seen: set[str] = set()
        """Comments of this run so far: a reply's parent among them is not fetched again."""
        with self._client() as client:
            for status in self.statuses:
                for items, location in self._listing(client, {**params, "status": status}):
                    page = Batch(source=self.name)
                    for index, item in enumerate(items):
                        self._add_comment(page, item, f"{location} item {index + 1}")
                        if isinstance(item, dict) and _is_date(item.get("date")):
                            newest = max(newest or item["date"], item["date"])
                            offset = _offset_seconds(item) if offset is None else offset
                    seen.update(c.id for c in page.comments)
                    self._add_parents(client, page, {k: v for k, v in params.items() if k != "after"}, seen)
                    wanted = sorted({c.post_id for c in page.comments if c.post_id} - known_posts)
                    page.posts = self._posts(client, wanted)
                    known_posts.update(wanted)
                    page.watermark = {"date": newest, "offset_seconds": offset}
                    yield page

    def _after(self, newest: str, offset: int | None) -> str:
        """Comments written after this (site time): the newest seen, or `lookback_seconds` before now if earlier.

        `after` is exclusive; one second more re-reads comments posted in the same second.
        """
        since = datetime.fromisoformat(newest)
        if offset is not None:
            site_now = self.now.astimezone(UTC).replace(tzinfo=None) + timedelta(seconds=offset)
            since = min(since, site_now - timedelta(seconds=self.settings.lookback_seconds))
        else:  # a watermark from before the offset was kept: the window ends at the newest comment
            since -= timedelta(seconds=self.settings.lookback_seconds)
        return (since - timedelta(seconds=1)).isoformat(timespec="seconds")

    def _listing(self, client: httpx.Client, params: dict[str, Any]) -> Iterator[tuple[list[Any], str]]:
        page_number, total_pages = 1, 1
        while page_number <= total_pages:
            response = self._get(client, "/comments", {**params, "page": page_number})
            total_pages = int(response.headers.get("X-WP-TotalPages", page_number))
            items = _json_list(response, self.name)
            if not items:
                return
            yield items, f"{params['status']} comments page {page_number}"
            page_number += 1

    def _add_parents(self, client: httpx.Client, page: Batch, params: dict[str, Any], seen: set[str]) -> None:
        """The parents the page's replies need for their thread and this run has not read (one request)."""
        missing = sorted({c.parent_id for c in page.comments if c.parent_id and c.parent_id not in seen})
        if not missing:
            return
        status = "all" if self.auth is not None else "approve"  # all: approved and held
        wanted = {**params, "include": ",".join(missing), "status": status, "per_page": PER_PAGE}
        for index, item in enumerate(_json_list(self._get(client, "/comments", wanted), self.name)):
            self._add_comment(page, item, f"parent comments item {index + 1}")
        seen.update(missing)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.settings.url.rstrip("/") + API,
            auth=self.auth,
            timeout=self.settings.timeout_seconds,
            headers={"User-Agent": "comment-moderation", "Accept": "application/json"},
        )

    def _get(self, client: httpx.Client, path: str, params: dict[str, Any]) -> httpx.Response:
        url = f"{self.settings.url.rstrip('/')}{API}{path}"
        try:
            response = client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"source {self.name}: GET {url} failed: {exc or type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise SourceError(
                f"source {self.name}: GET {url} answered {response.status_code}: {_wp_message(response)}"
                f"{self._hint(response.status_code)}"
            )
        return response

    def _hint(self, status_code: int) -> str:
        if status_code not in (401, 403):
            return ""
        if self.auth is None:
            return f"; set user and password_env (an application password) to read {', '.join(self.statuses)}"
        if urlsplit(self.settings.url).scheme != "https":
            return f"; {HTTPS_NEEDED}; and check user and password_env"
        return "; check user and password_env (an application password of a user who may moderate comments)"

    def _add_comment(self, page: Batch, item: Any, location: str) -> None:
        raw = json.dumps(item, ensure_ascii=False)[:10_000]
        if not isinstance(item, dict):
            page.rejected.append(RejectedRecord(self.name, location, "expected an object", raw))
            return
        content = item.get("content")
        rendered = content.get("rendered") if isinstance(content, dict) else None
        if not isinstance(rendered, str):
            page.rejected.append(
                RejectedRecord(self.name, location, "content.rendered: missing", raw, _str_or_none(item.get("id")))
            )
            return
        record = {
            "id": item.get("id"),
            "post_id": item.get("post") or None,
            "parent_id": item.get("parent") or None,
            "author": item.get("author_name"),
            "author_id": item.get("author"),
            "author_email": item.get("author_email") or None,
            "site_status": STATUS_NAMES.get(str(item.get("status"))),
            "url": item.get("link") or None,
            "created_at": item.get("date_gmt"),
            "text": html_to_text(rendered),
        }
        where = f"comment {item['id']}" if item.get("id") is not None else location
        add_record(page, record, location=where, raw=raw)

    def _posts(self, client: httpx.Client, ids: list[str]) -> list[Post]:
        """Title, text and author of the posts the comments are on (pages and private posts stay bare)."""
        posts = []
        for start in range(0, len(ids), PER_PAGE):
            chunk = ids[start : start + PER_PAGE]
            params = {"include": ",".join(chunk), "per_page": PER_PAGE, "_embed": "author"}
            for item in _json_list(self._get(client, "/posts", params), self.name):
                post = _post(item)
                if post is not None:
                    posts.append(post)
        return posts


def secure_or_loopback(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine (where a test site may allow application passwords)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


def _offset_seconds(item: dict[str, Any]) -> int | None:
    """The site's offset from UTC, from a comment's local `date` and its `date_gmt`."""
    try:
        local, utc = datetime.fromisoformat(item["date"]), datetime.fromisoformat(str(item.get("date_gmt")))
    except ValueError:
        return None
    return int((local - utc).total_seconds())


def _post(item: Any) -> Post | None:
    """The post's details, or None (the comments keep their post id) when the API's item is unusable."""
    if not isinstance(item, dict) or item.get("id") is None:
        return None
    authors = (item.get("_embedded") or {}).get("author") or [{}]
    record = {
        "id": item["id"],
        "title": html_to_text(_rendered(item.get("title"))) or None,
        "body": html_to_text(_rendered(item.get("content"))) or None,
        "author": authors[0].get("name") if isinstance(authors[0], dict) else None,
        "published_at": item.get("date_gmt"),
    }
    try:
        return parse_post(record)
    except ValidationError:
        return None


def _is_date(value: Any) -> bool:
    """Whether `value` can be the watermark (the next run parses it for `after=`)."""
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _rendered(value: Any) -> str:
    return value.get("rendered", "") if isinstance(value, dict) else ""


def _json_list(response: httpx.Response, source: str) -> list[Any]:
    try:
        data = response.json()
    except json.JSONDecodeError as exc:
        raise SourceError(f"source {source}: {response.request.url} did not answer JSON: {exc}") from exc
    if not isinstance(data, list):
        raise SourceError(f"source {source}: {response.request.url} answered {type(data).__name__}, expected a list")
    return data


def _wp_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.reason_phrase)
    except (json.JSONDecodeError, AttributeError):
        return response.reason_phrase


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# ---- HTML to text ---------------------------------------------------------------------------------

BLOCKS = {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table"}
SPACES = re.compile(r"[ \t\r\n\f]+")
BLANK_LINES = re.compile(r"\n{3,}")


HIDDEN = {"script", "style", "template"}
"""Elements whose content a reader never sees."""


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pre = 0
        self.hidden = 0
        self.links: list[tuple[int, str]] = []
        """Open <a> elements: where their text starts in `parts`, and their target."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a":
            self.links.append((len(self.parts), (dict(attrs).get("href") or "").strip()))
        self.pre += tag == "pre"
        self.hidden += tag in HIDDEN

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in HIDDEN and self.hidden:
            self.hidden -= 1
        if tag == "a" and self.links:
            self._close_link(*self.links.pop())

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data if self.pre else SPACES.sub(" ", data))

    def _close_link(self, start: int, target: str) -> None:
        """A link's target is part of what it says ("cheap pills (https://spam.example)"), unless the
        text already is the target, as in WordPress's own links to URLs written in a comment."""
        shown = "".join(self.parts[start:]).strip()
        if target and target != shown and target.rstrip("/") != shown.rstrip("/"):
            self.parts.append(f" ({target})")


def html_to_text(html: str) -> str:
    """What a reader sees: tags removed, entities decoded, paragraphs as blank lines, <br> as newlines."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = [line.strip() for line in "".join(collector.parts).split("\n")]
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
