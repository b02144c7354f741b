"""Opening the database: create the engine, bring the schema to the newest migration."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from moderation.errors import StorageError
from moderation.redact import driver_message, masked_url, without_url_secrets

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_000_000
"""PostgreSQL advisory lock key held while migrating (store.py's source locks use a different namespace)."""


class Database:
    """An engine whose schema is migrated, plus a session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on error."""
        with self.failures_named(), self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A plain connection (for session-level advisory locks); failures named as in `session`."""
        with self.failures_named(), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def failures_named(self) -> Iterator[None]:
        """A database that fails (gone, unreachable, dropped mid-run) raises StorageError naming it without
        its password, in one line without SQL or parameters; an IntegrityError stays as it is for callers
        that expect one."""
        try:
            yield
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise StorageError(f"database {self.display_url} failed: {driver_message(exc)}") from exc

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise StorageError unless the database answers a query now (for readiness checks)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StorageError(f"the database does not answer: {type(exc).__name__}") from exc


SHARED_DATABASES = 8
"""How many shared handles a process keeps (least recently used dropped first)."""


def database(url: str) -> Database:
    """One migrated database handle per URL per process, shared (the pipeline's tasks in threads, CLI commands)."""
    with _sharing:
        db = _shared.pop(url, None) or open_database(url)
        _shared[url] = db  # now the most recently used
        while len(_shared) > SHARED_DATABASES:
            _shared.pop(next(iter(_shared)))
        return db


def close_database(url: str) -> None:
    """Close the shared handle for `url`, if there is one (e.g. before that database is dropped)."""
    with _sharing:
        db = _shared.pop(url, None)
    if db is not None:
        db.dispose()


_shared: dict[str, Database] = {}
_sharing = threading.Lock()


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect to `url` and apply any pending migrations (first use creates the schema)."""
    engine = _create_engine(url)
    if migrate:
        upgrade(engine)
    return Database(engine)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply pending migrations. Processes starting at once on a new database migrate it once: on
    PostgreSQL they queue on an advisory lock; on SQLite the loser of the race tries again."""
    attempts = 1 if engine.dialect.name == "postgresql" else 2
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                config = _alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            return
        except SQLAlchemyError as exc:
            if attempt == attempts:
                shown = engine.url.render_as_string(hide_password=True)
                raise StorageError(f"could not migrate database {shown}: {driver_message(exc)}") from exc


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _create_engine(url: str) -> Engine:
    # Parameters hold comment text and names; they never belong in an error message or a log.
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(url, **options)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        reason = without_url_secrets(str(exc), url)
        # not chained: the original error may quote the url with its password
        raise StorageError(f"invalid database url {masked_url(url)}: {reason}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT for the session's database that knows ON CONFLICT (SQLite's or PostgreSQL's)."""
    from sqlalchemy.dialects import postgresql, sqlite

    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise StorageError(f"the moderation database must be SQLite or PostgreSQL, not {name}")


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE matched (0 when the driver does not say)."""
    return int(result.rowcount or 0)
