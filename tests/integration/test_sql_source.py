"""The SQL table source against a real PostgreSQL table: keyset pages, edits, late rows, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text

from moderation.config import SqlColumns, SqlSourceSettings
from moderation.errors import SourceError
from moderation.sources.base import collect
from moderation.sources.sql import SqlTableSource

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
