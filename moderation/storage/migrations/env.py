"""Alembic environment: migrations run on the connection handed over by moderation.storage.engine."""

from alembic import context
from sqlalchemy import create_engine

from moderation.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # `alembic` run from the command line: take the URL from alembic.ini / -x url=...
        url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
        if not url:
            raise SystemExit("give the database: alembic -x url=sqlite:///moderation.db ...")
        with create_engine(url, hide_parameters=True).begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
