from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import cartrack.models  # noqa: F401  (registers every table)
from cartrack.db import make_engine
from cartrack.settings import get_settings

target_metadata = SQLModel.metadata


def run() -> None:
    url = context.config.attributes.get("database_url") or get_settings().database_url
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


def _migrate(conn: object) -> None:
    context.configure(connection=conn, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
