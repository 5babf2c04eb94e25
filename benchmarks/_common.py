"""Helpers the benchmarks share: an isolated database, the machine facts, percentiles, a
process's memory, a sandbox served from a child process.

Not a benchmark itself. ``isolated_store(kind)`` yields a migrated :class:`core.store.Store` on
a fresh SQLite file in a temporary folder, or on a private PostgreSQL schema
(``baton_b_<hex>``, selected through ``search_path`` and dropped with CASCADE afterwards, the
way tests/conftest.py does it), so a benchmark never writes to a shared schema.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateSchema, DropSchema

from baton.core.settings import masked_url
from baton.core.store import Store

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL_ENV = "BATON_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASES = ("sqlite", "postgres")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


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


def rss_mb() -> float:
    """This process's resident set now, in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MB (``ru_maxrss`` is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ChildFailed(RuntimeError):
    """The child process of :func:`child_process` died or sent nothing in time."""


@contextmanager
def child_process(
    target: Callable[..., None], *args: object, wait_seconds: float = 600
) -> Iterator[Any]:
    """Run ``target(conn, *args)`` in a child process started with ``spawn`` (so its memory is
    not this process's) and yield the first thing it sends on ``conn`` (e.g. a sandbox it
    seeded and serves); on exit send it ``"stop"`` and wait for it. ChildFailed when it dies
    or sends nothing within ``wait_seconds``."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=target, args=(theirs, *args), daemon=True)
    child.start()
    theirs.close()  # only the child's end stays open: its death is an EOF here
    try:
        if not ours.poll(wait_seconds):
            raise ChildFailed(f"the child process sent nothing in {wait_seconds:g} s")
        try:
            first = ours.recv()
        except EOFError:
            child.join(5)
            raise ChildFailed(f"the child process exited (exit code {child.exitcode})") from None
        yield first
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        child.join(15)
        if child.is_alive():
            child.terminate()
            child.join(5)
