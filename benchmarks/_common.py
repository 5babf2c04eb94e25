"""Helpers the benchmarks share: an isolated database, the machine facts, percentiles.

Not a benchmark itself. ``isolated_store(kind)`` yields a migrated :class:`core.store.Store` on
a fresh SQLite file in a temporary folder, or on a private PostgreSQL schema
(``baton_b_<hex>``, selected through ``search_path`` and dropped with CASCADE afterwards, the
way tests/conftest.py does it), so a benchmark never writes to a shared schema.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.schema import CreateSchema, DropSchema

from baton.core.settings import masked_url
from baton.core.store import Store

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL_ENV = "BATON_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASES = ("sqlite", "postgres")


def postgres_url() -> str:
    """The PostgreSQL server benchmarks use (``BATON_BENCH_POSTGRES_URL`` or the local one)."""
    return os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    engine = sa.create_engine(postgres_url(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except Exception as exc:
        return f"PostgreSQL at {masked_url(postgres_url())} is unreachable ({type(exc).__name__})"
    finally:
        engine.dispose()


def usable_databases(choice: str | None) -> list[str]:
    """``choice`` (or every database when None), less PostgreSQL when it does not answer;
    prints why it was skipped."""
    usable = []
    for database in [choice] if choice else list(DATABASES):
        if database == "postgres" and (reason := postgres_unreachable()):
            print(f"\n== postgres: skipped: {reason}")
            continue
        usable.append(database)
    return usable


def database_facts(kind: str) -> str:
    """One line naming the database engine and its version."""
    if kind == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (file in a temp dir, WAL)"
    engine = sa.create_engine(postgres_url())
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar()
    finally:
        engine.dispose()
    return f"PostgreSQL {version} at {masked_url(postgres_url())} (private schema)"


@contextmanager
def isolated_store(kind: str, **engine_kwargs: object) -> Iterator[Store]:
    """A migrated Store on a fresh database of ``kind`` (sqlite | postgres), removed after."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="baton-bench-") as folder:
            store = Store(f"sqlite:///{Path(folder) / 'baton.db'}", **engine_kwargs)
            try:
                store.migrate()
                yield store
            finally:
                store.close()
        return
    admin = sa.create_engine(postgres_url())
    schema = f"baton_b_{uuid.uuid4().hex}"
    with admin.begin() as conn:
        conn.execute(CreateSchema(schema))
    try:
        connect_args = {"options": f"-csearch_path={schema}"}
        store = Store(postgres_url(), connect_args=connect_args, **engine_kwargs)
        try:
            store.migrate()
            yield store
        finally:
            store.close()
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True))
        admin.dispose()


def machine_facts() -> str:
    """Cores, Python and platform, on one line."""
    return (
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]} "
        f"({platform.python_implementation()}), {platform.system()} {platform.machine()}"
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
