"""The migrations build the schema the tables describe, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from moderation.storage.engine import upgrade
from moderation.storage.tables import Base

# A cascade's version names its tiers, the bands and the fit: the default one is about 150 characters.
LONG_VERSION = (
    "cascade-fcb8d933-fitf68903a6-recheck89a3e7b8:fast/fast-1.0-ab85d0da>accurate/accurate-77cf8df3c9e2-int8-ffn01"
    ">accurate/accurate-77cf8df3c9e2+thread3"
)


def test_the_migrated_schema_is_the_one_the_tables_describe(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "head")
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert differences == []


def test_a_database_from_before_keeps_its_scores_and_takes_a_long_scorer_version(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "0010")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO posts (source, external_id, title) VALUES ('blog', 'p1', 'A post')"))
        connection.execute(
            text(
                "INSERT INTO comments (source, external_id, post_id, author, text, content_hash, created_at,"
                " ingested_at, updated_at) VALUES ('blog', 'c1', 1, 'Ana', 'Hello', 'h1', :now, :now, :now)"
            ),
            {"now": now},
        )
    upgrade(engine, "head")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO scores (comment_id, content_hash, scorer, scorer_version, labels, evidence, scored_at)"
                " VALUES (1, 'h1', 'cascade', :version, '{}', '{}', :now)"
            ),
            {"version": LONG_VERSION, "now": now},
        )
        stored = connection.execute(text("SELECT scorer_version FROM scores")).scalar_one()
        kept = connection.execute(text("SELECT text FROM comments")).scalar_one()
    engine.dispose()
    assert (stored, kept) == (LONG_VERSION, "Hello")
