"""The SQL table source against a real PostgreSQL table: keyset pages, edits, late rows, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text

from moderation.config import PolicySettings, ScoringSettings, SqlColumns, SqlSourceSettings
from moderation.errors import SourceError
from moderation.pipeline import ingest, plan_batches, score_batch
from moderation.review.queue import list_items
from moderation.sources.base import collect
from moderation.sources.sql import SqlTableSource
from moderation.storage.engine import database

pytestmark = pytest.mark.postgres

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COLUMNS = SqlColumns(
    id="comment_id", post="thread", author="who", parent="reply_to", time="posted_at", text="body", updated="edited_at"
)


@pytest.fixture
def forum(postgres_url: str) -> Iterator[Engine]:
    """A forum's own comments table (other column names), holding the seed thread."""
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE forum_comments (comment_id integer PRIMARY KEY, thread text, who text, "
                "reply_to integer, posted_at timestamptz NOT NULL, body text, edited_at timestamptz NOT NULL)"
            )
        )
        for line in (EXAMPLES / "seed_thread.jsonl").read_text().splitlines():
            record = json.loads(line)
            _insert(connection, int(record["id"][1:]), record["text"], record["author"], record["parent_id"])
    yield engine
    engine.dispose()


def _insert(connection, number: int, body: str, who: str = "ann", parent: str | None = None) -> None:  # type: ignore[no-untyped-def]
    posted = datetime(2017, 8, 11, 9, tzinfo=UTC) + timedelta(minutes=number)
    connection.execute(
        text("INSERT INTO forum_comments VALUES (:id, 'post-belenko', :who, :parent, :posted, :body, :posted)"),
        {"id": number, "who": who, "parent": int(parent[1:]) if parent else None, "posted": posted, "body": body},
    )


def _source(url: str, **options: object) -> SqlTableSource:
    settings = {"name": "forum", "kind": "sql", "url": url, "table": "forum_comments", "columns": COLUMNS, **options}
    return SqlTableSource(SqlSourceSettings.model_validate(settings))


def test_rows_are_read_in_keyset_pages_without_offset(forum: Engine, postgres_url: str) -> None:
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(Engine, "before_cursor_execute", listener)
    try:
        pages = list(_source(postgres_url, page_size=4).pages(None))
    finally:
        event.remove(Engine, "before_cursor_execute", listener)
    assert [len(page.comments) for page in pages] == [4, 4, 3]
    c7 = pages[1].comments[2]
    assert (c7.id, c7.author, c7.parent_id, c7.post_id) == ("7", "Douglas", "6", "post-belenko")
    reads = [s for s in statements if "forum_comments" in s and "ORDER BY" in s]
    assert len(reads) == 3 and not any("OFFSET" in s.upper() for s in reads)
    assert "(forum_comments.edited_at, forum_comments.comment_id) >" in reads[1]


def test_the_next_read_returns_only_new_and_edited_rows(forum: Engine, postgres_url: str) -> None:
    source = _source(postgres_url)
    watermark = collect(source.pages(None), "forum").watermark
    with forum.begin() as connection:
        _insert(connection, 12, "Mike, you are a moron.", "Slaven", "c11")
        connection.execute(text("UPDATE forum_comments SET body = 'edited', edited_at = now() WHERE comment_id = 3"))
    again = collect(source.pages(watermark), "forum")
    assert sorted(c.id for c in again.comments) == ["12", "3"]
    assert collect(source.pages(again.watermark), "forum").comments == []


def test_lookback_rereads_a_row_committed_late_with_an_older_time(forum: Engine, postgres_url: str) -> None:
    plain, lookback = _source(postgres_url), _source(postgres_url, lookback_seconds=3600)
    watermark = collect(plain.pages(None), "forum").watermark
    with forum.begin() as connection:
        _insert(connection, 0, "late, with a time before the watermark")
    assert collect(plain.pages(watermark), "forum").comments == []
    assert "0" in {c.id for c in collect(lookback.pages(watermark), "forum").comments}


def test_a_row_without_text_is_rejected_and_the_page_goes_on(forum: Engine, postgres_url: str) -> None:
    with forum.begin() as connection:
        connection.execute(text("UPDATE forum_comments SET body = NULL WHERE comment_id = 2"))
    batch = collect(_source(postgres_url).pages(None), "forum")
    assert len(batch.comments) == 10
    assert [(r.location, r.external_id) for r in batch.rejected] == [("forum_comments:2", "2")]


def test_a_missing_column_names_the_config_key(forum: Engine, postgres_url: str) -> None:
    source = _source(postgres_url, columns=COLUMNS.model_copy(update={"text": "content"}))
    with pytest.raises(
        SourceError, match=r"source forum: table forum_comments has no column 'content' \(columns.text\)"
    ):
        list(source.pages(None))


def test_an_unreachable_database_is_a_source_error_without_the_password() -> None:
    source = _source("postgresql+psycopg://reader:hunter2@127.0.0.1:1/forum")
    with pytest.raises(SourceError) as error:
        list(source.pages(None))
    assert "source forum: cannot read postgresql+psycopg://reader:***@127.0.0.1:1/forum" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_an_overlong_author_rejects_its_row_by_key_and_the_page_goes_on(forum: Engine, postgres_url: str) -> None:
    with forum.begin() as connection:
        connection.execute(text("UPDATE forum_comments SET who = repeat('a', 300) WHERE comment_id = 3"))
    batch = collect(_source(postgres_url).pages(None), "forum")
    assert len(batch.comments) == 10
    assert [(r.location, r.external_id, r.error) for r in batch.rejected] == [
        ("forum_comments:3", "3", "author: longer than 255 characters (300)")
    ]


def test_status_column_changes_close_queue_items_and_only_user_ids_are_trusted(
    postgres_url: str, sqlite_url: str
) -> None:
    site = create_engine(postgres_url)
    written = datetime(2026, 11, 30, 9, tzinfo=UTC)
    with site.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE site_comments (id integer PRIMARY KEY, post text, author text, user_id integer, "
                "email text, approved text, body text, created_at timestamptz, updated_at timestamptz)"
            )
        )
        rows = [
            (1, None, "1", "You are a stupid moron idiot."),  # a guest who typed the staff name
            (2, 1, "1", "You are a stupid moron idiot!"),  # the staff account itself
            (3, None, "0", "Held: you are a stupid moron idiot."),
        ]
        for number, user_id, approved, body in rows:
            connection.execute(
                text(
                    "INSERT INTO site_comments VALUES (:id, 'p1', 'admin', :user_id, 'Admin@Example.org', "
                    ":approved, :body, :at, :at)"
                ),
                {"id": number, "user_id": user_id, "approved": approved, "body": body, "at": written},
            )
    settings = SqlSourceSettings.model_validate(
        {
            "name": "site",
            "kind": "sql",
            "url": postgres_url,
            "table": "site_comments",
            "columns": SqlColumns(
                id="id",
                post="post",
                author="author",
                parent=None,
                time="created_at",
                text="body",
                updated="updated_at",
                author_id="user_id",
                author_email="email",
                status="approved",
            ),
            "approved_values": ["1"],
            "removed_values": ["spam", "trash"],
            "url_template": "https://forum.example.org/t/{post_id}#comment-{id}",
        }
    )
    policy = PolicySettings(trusted_authors=["site:1"])

    def run(now: datetime) -> None:
        ingest(sqlite_url, settings, now)
        for rows_range in plan_batches(sqlite_url, ScoringSettings()):
            score_batch(sqlite_url, rows_range, ScoringSettings(), policy, now)

    run(written + timedelta(minutes=1))
    pending = {e.comment_id: e for e in list_items(database(sqlite_url))}
    assert sorted(pending) == ["1", "3"]
    assert pending["1"].url == "https://forum.example.org/t/p1#comment-1"

    edited = written + timedelta(minutes=5)
    with site.begin() as connection:
        connection.execute(
            text("UPDATE site_comments SET approved = 'trash', updated_at = :at WHERE id = 1"), {"at": edited}
        )
        connection.execute(
            text("UPDATE site_comments SET approved = '1', updated_at = :at WHERE id = 3"), {"at": edited}
        )
    run(edited + timedelta(minutes=1))
    site.dispose()

    assert list_items(database(sqlite_url)) == []
    rejected = list_items(database(sqlite_url), "rejected")
    approved = list_items(database(sqlite_url), "approved")
    assert [(e.comment_id, e.decided_by) for e in rejected] == [("1", "site")]
    assert [(e.comment_id, e.decided_by) for e in approved] == [("3", "site")]
