"""No secret leaks: the database password stays out of Prefect's stored runs and logs and out of error
messages, and comment rows (SQL parameters) stay out of database errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.moderate import moderate
from moderation.config import SqlSourceSettings
from moderation.errors import SourceError, StorageError
from moderation.models import Comment
from moderation.sources.base import Batch
from moderation.sources.sql import SqlTableSource
from moderation.storage import store
from moderation.storage.engine import open_database
from tests.conftest import SEED_TIME, _drop_test_database, seed_review_queue, write_config

PASSWORD = "hunter2-Secret"


def _with_password(postgres_url: str) -> str:
    """The test database's URL with a password in it (the server trusts loopback, so any password works)."""
    return postgres_url.replace("://postgres@", f"://postgres:{PASSWORD}@")


@pytest.mark.usefixtures("prefect_harness")
def test_prefect_stores_no_database_password_in_flow_runs_task_runs_or_logs(
    seed_project: Path, postgres_url: str
) -> None:
    from prefect.client.orchestration import get_client

    config = write_config(seed_project / "c.toml", _with_password(postgres_url))
    assert moderate(str(config)).scored == 11
    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs()
        task_runs = client.read_task_runs()
        logs = client.read_logs()
    subflows = [run for run in flow_runs if run.parameters.get("config_path") == str(config) and run.parent_task_run_id]
    assert subflows, "the score new comments run is stored, with the config file as its reference"
    stored = json.dumps([run.model_dump(mode="json") for run in [*flow_runs, *task_runs]])
    assert PASSWORD not in stored
    assert PASSWORD not in "\n".join(log.message for log in logs)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+nodriver://mod:{PASSWORD}@db.example.org/moderation",
        f"nosuchdialect://mod:{PASSWORD}@db.example.org/moderation",
        f"postgresql://mod:{PASSWORD}@db.example.org:notaport/moderation",
        f"not a url mod:{PASSWORD}@db.example.org",
    ],
)
def test_invalid_database_url_error_names_the_url_without_its_password(url: str) -> None:
    with pytest.raises(StorageError) as error:
        open_database(url)
    assert "invalid database url" in str(error.value)
    assert PASSWORD not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_invalid_sql_source_url_error_has_no_password() -> None:
    settings = SqlSourceSettings(name="shop", kind="sql", url=f"postgresql://mod:{PASSWORD}@db:port/x", table="c")
    with pytest.raises(SourceError) as error:
        SqlTableSource(settings, environ={})
    assert "source shop: invalid url postgresql://mod:***@db:port/x" in str(error.value)
    assert PASSWORD not in str(error.value)


def test_database_dropped_mid_run_is_one_line_without_sql_parameters(postgres_url: str) -> None:
    url = _with_password(postgres_url)
    seed_review_queue(url)  # the engine's pool now holds live connections
    db = open_database(url)
    with db.session() as session:
        session.connection()
    _drop_test_database(postgres_url.rsplit("/", 1)[1])
    page = Batch("examples", comments=[Comment(id="c99", text="my private words to Slaven", author="Mira Holm")])
    with pytest.raises(StorageError) as error:
        store.save_batch(db, page, SEED_TIME)
    message = str(error.value)
    assert message.startswith("database postgresql+psycopg://postgres:***@127.0.0.1:5432/")
    assert "\n" not in message
    for leak in ("my private words", "Mira Holm", "[parameters", PASSWORD):
        assert leak not in message
        assert leak not in str(error.value.__cause__)


def test_source_lock_on_a_dropped_database_is_a_storage_error_naming_it(postgres_url: str) -> None:
    db = open_database(_with_password(postgres_url))
    with store.source_lock(db, "examples") as mine:
        assert mine
    _drop_test_database(postgres_url.rsplit("/", 1)[1])
    with pytest.raises(StorageError) as error, store.source_lock(db, "examples"):
        pass
    assert str(error.value).startswith("database postgresql+psycopg://postgres:***@127.0.0.1:5432/")
    assert PASSWORD not in str(error.value)
