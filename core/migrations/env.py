"""Alembic environment for Baton, configured in code (no alembic.ini).

The usual way in is :meth:`core.store.Store.migrate`, which passes an open Connection in
``config.attributes["connection"]`` and runs every migration inside that connection's
transaction. Without one (for example ``alembic.command.revision`` from a shell with
``core.store.alembic_config()``), a Store is built from ``sqlalchemy.url`` or
``BATON_DATABASE_URL``. SQLite gets ``render_as_batch`` so ALTERs become table copies.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from baton.core.tables import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    from baton.core.settings import database_url

    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    from baton.core.store import Store

    store = Store(config.get_main_option("sqlalchemy.url") or None)
    try:
        with store.engine.begin() as conn:
            _run(conn)
    finally:
        store.close()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
