"""Shared fixtures.

Databases
---------
``database`` is parametrized over :data:`BACKENDS`: a fresh SQLite file in ``tmp_path`` and a
fresh PostgreSQL schema (``baton_t_<hex>``, selected through ``search_path`` and dropped with
CASCADE afterwards). It gives a :class:`Database`: ``.url`` and ``.engine_kwargs`` to build
more :class:`~core.store.Store` objects on the same data (a second worker), or
``.new_store()``. ``store`` is a migrated Store on ``database``; any test that asks for it
runs once per backend.

PostgreSQL comes from ``BATON_TEST_POSTGRES_URL`` (default :data:`DEFAULT_POSTGRES_URL`).
When it is unreachable the PostgreSQL variants skip with the reason, or fail when the
environment variable ``CI`` is ``true``.

Add new shared fixtures below, each with a docstring.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.schema import CreateSchema, DropSchema

# Rich fixes a console's width from COLUMNS when the console is made (at this import), else
# reads it on each use, as the CLI tests that set COLUMNS need. xdist's workers start with
# COLUMNS=80 in their environment: dropped before the CLI's consoles are made, here.
os.environ.pop("COLUMNS", None)
import baton.webhooks.cli_core  # noqa: F401
from baton.core.settings import masked_url
from baton.core.store import Store
from tests.support.skipping import skip_or_fail

POSTGRES_URL_ENV = "BATON_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


def postgres_url() -> str:
    """The PostgreSQL server used by tests."""
    return os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL


@dataclass(frozen=True)
class Database:
    """An isolated, empty database: build Stores on it with ``Store(url, **engine_kwargs)``."""

    backend: str
    url: str
    engine_kwargs: dict[str, Any] = field(default_factory=dict)

    def new_store(self) -> Store:
        """A new Store (own engine and pool) on this database; the caller closes it."""
        return Store(self.url, **self.engine_kwargs)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine | str]:
    """An engine on the test PostgreSQL server, or the reason it is unreachable."""
    url = postgres_url()
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except Exception as exc:
        engine.dispose()
        yield (
            f"PostgreSQL at {masked_url(url)} is unreachable ({type(exc).__name__}); "
            f"start it or set {POSTGRES_URL_ENV}"
        )
        return
    yield engine
    engine.dispose()


@contextmanager
def postgres_schema(admin: sa.Engine) -> Iterator[Database]:
    """A Database on a new schema of the test server, dropped (CASCADE) on exit."""
    name = f"baton_t_{uuid.uuid4().hex}"
    with admin.begin() as conn:
        conn.execute(CreateSchema(name))
    try:
        options = {"connect_args": {"options": f"-csearch_path={name}"}}
        yield Database("postgresql", postgres_url(), options)
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(name, cascade=True))


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, isolated database, once per backend (see the module docstring)."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'baton.db'}")
        return
    admin = request.getfixturevalue("postgres_admin")
    if isinstance(admin, str):
        skip_or_fail(admin)
    with postgres_schema(admin) as db:
        yield db


@pytest.fixture
def store(database: Database) -> Iterator[Store]:
    """A migrated Store on ``database``, closed afterwards."""
    store = database.new_store()
    store.migrate()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store, for the tests that need not run on both backends."""
    store = Store(f"sqlite:///{tmp_path / 'baton.db'}")
    store.migrate()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A migrated SQLite store that ``baton`` commands run in this test will open."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    store = Store(url)
    store.migrate()
    try:
        yield store
    finally:
        store.close()
