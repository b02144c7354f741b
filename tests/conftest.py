"""Shared fixtures: real SQLite files and real PostgreSQL databases, the Prefect test harness."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moderation.models import Thread
from moderation.storage import store
from moderation.storage.engine import Database
from moderation.storage.store import StoredComment

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = PROJECT_ROOT / "examples"
POSTGRES_SERVER = os.environ.get("MODERATION_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
TEST_DATABASE_PREFIX = "moderation_test_"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'moderation.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        from moderation.storage.engine import close_database

        close_database(f"{POSTGRES_SERVER}/{name}")
        _drop_test_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def seed_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the example thread, like a new user's checkout."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(path: Path, db_url: str, extra: str = "", *, sources: str | None = None) -> Path:
    """A config file for `db_url` reading the example thread (or `sources`)."""
    default_sources = """
[[sources]]
name = "examples"
kind = "jsonl"
path = "examples/seed_thread.jsonl"
posts = "examples/seed_post.json"
"""
    path.write_text(f'[database]\nurl = "{db_url}"\n{extra}\n{sources or default_sources}', encoding="utf-8")
    return path


def _admin_connection():  # type: ignore[no-untyped-def]
    import psycopg

    dsn = POSTGRES_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    return psycopg.connect(dsn, autocommit=True)


def _drop_test_database(name: str) -> None:
    if not name.startswith(TEST_DATABASE_PREFIX):
        raise RuntimeError(f"refusing to drop {name!r}: not a test database")
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SEED_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def seed_review_queue(
    db_url: str, comments: Path | None = None, now: datetime = SEED_TIME, source_name: str = "examples"
) -> None:
    """Run the pipeline's steps (no Prefect) on the example thread, or on `comments`, into `db_url`.

    With the example thread, c6 (Lee Lindberg's attack on Slaven) and c10 (Slaven) end up in the queue.
    """
    from moderation import pipeline
    from moderation.config import FileSourceSettings, PolicySettings, ScoringSettings

    source = FileSourceSettings(
        name=source_name,
        kind="jsonl",
        path=str(comments or EXAMPLES / "seed_thread.jsonl"),
        posts=None if comments else str(EXAMPLES / "seed_post.json"),
    )
    scoring, policy = ScoringSettings(scorer="lexicon"), PolicySettings()
    pipeline.ingest(db_url, source, now)
    for rows in pipeline.plan_batches(db_url, scoring):
        pipeline.score_batch(db_url, rows, scoring, policy, now)


def unscored_with_threads(db: Database, scorer_version: str) -> tuple[list[StoredComment], dict[int, Thread]]:
    """Every comment `scorer_version` has yet to score, with its thread, read as the pipeline reads them:
    planned in id ranges (store.unscored_ranges), each range claimed (store.claim_unscored)."""
    comments: list[StoredComment] = []
    threads: dict[int, Thread] = {}
    for rows in store.unscored_ranges(db, scorer_version, 100):
        with store.claim_unscored(db, scorer_version, rows) as claim:
            comments.extend(claim.comments)
            threads.update(claim.threads)
    return comments, threads


@pytest.fixture
def seeded_url(db_url: str) -> str:
    """`db_url` (SQLite, then PostgreSQL) holding the example thread, scored, with c6 and c10 queued."""
    seed_review_queue(db_url)
    return db_url


@pytest.fixture
def seeded_sqlite_url(sqlite_url: str) -> str:
    """A SQLite database holding the example thread, scored, with c6 and c10 queued."""
    seed_review_queue(sqlite_url)
    return sqlite_url
