"""The inbox's group commit (core/inbox_writer.py) and the batch insert under it, on SQLite and
PostgreSQL: each event stored once whatever the batching, duplicates counted right, a future
resolved only after its rows are committed, and a failed batch failing only its own requests
with nothing of them stored (RELIABILITY K2, D2, D5).

Batches are made deterministic without timing: a gate holds the writer's first transaction
until every other request has been queued, so those form the next batch together.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from baton.core.inbox_writer import InboxWriter
from baton.core.store import Store
from baton.core.tables import InboundEventRow
from tests.conftest import Database

Events = Sequence[tuple[str, str, bytes]]


def _stored(store: Store) -> Counter[tuple[str, str]]:
    with store.reading() as session:
        rows = session.execute(select(InboundEventRow.platform, InboundEventRow.event_id))
        return Counter((platform, event_id) for platform, event_id in rows)


class Gate:
    """Wraps the store's real ``record_inbound_events``: the first call waits for ``open()``;
    every call's events (and whether it raised) are kept, in order."""

    def __init__(self, store: Store) -> None:
        self.record = store.record_inbound_events
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.calls: list[tuple[list[str], bool]] = []

    def __call__(self, events: Events) -> list[bool]:
        if not self.calls:
            self.entered.set()
            self.opened.wait()
        ids = [event_id for _platform, event_id, _body in events]
        try:
            flags = self.record(events)
        except Exception:
            self.calls.append((ids, False))
            raise
        self.calls.append((ids, True))
        return flags


@contextmanager
def gated(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[InboxWriter, Gate]]:
    """A writer over ``store`` whose first transaction waits for ``gate.opened``."""
    gate = Gate(store)
    monkeypatch.setattr(store, "record_inbound_events", gate)
    writer = InboxWriter(store)
    try:
        yield writer, gate
    finally:
        gate.opened.set()
        writer.close()


def _outcome(future: Future[list[bool]]) -> list[bool] | BaseException:
    try:
        return future.result()
    except Exception as exc:
        return exc


def test_record_inbound_events_flags_new_ones_and_dedupes_within_and_against_the_table(
    store: Store,
) -> None:
    assert store.record_inbound_event("zendesk", "old", b"{}") is True
    flags = store.record_inbound_events(
        [
            ("zendesk", "a", b"1"),
            ("zendesk", "old", b"2"),
            ("zendesk", "a", b"3"),
            ("hubspot", "a", b"4"),
        ]
    )
    assert flags == [True, False, False, True]
    assert store.record_inbound_events([]) == []
    assert _stored(store) == Counter(
        {("zendesk", "old"): 1, ("zendesk", "a"): 1, ("hubspot", "a"): 1}
    )
    with store.reading() as session:
        body = session.scalars(
            select(InboundEventRow.body).where(InboundEventRow.event_id == "a")
        ).all()
    assert sorted(body) == [b"1", b"4"]  # the first copy is the one kept


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.lists(st.integers(0, 6), max_size=5),
    batch=st.lists(st.tuples(st.sampled_from(["zendesk", "hubspot"]), st.integers(0, 6))),
)
def test_a_batch_flags_exactly_the_first_copy_of_each_event_not_yet_stored(
    store: Store, before: list[int], batch: list[tuple[str, int]]
) -> None:
    prefix = uuid.uuid4().hex[:8]  # each example on event ids of its own

    def key(n: int) -> str:
        return f"{prefix}-{n}"

    for n in before:
        store.record_inbound_event("zendesk", key(n), b"{}")
    existing = {("zendesk", key(n)) for n in before}

    flags = store.record_inbound_events([(p, key(n), b"{}") for p, n in batch])

    seen: set[tuple[str, str]] = set()
    expected = []
    for platform, n in batch:
        expected.append((platform, key(n)) not in existing | seen)
        seen.add((platform, key(n)))
    assert flags == expected
    stored = _stored(store)
    assert all(stored[k] == 1 for k in existing | seen)


def test_concurrent_requests_with_duplicates_store_each_event_once_in_one_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 requests from 30 threads, drawn from 12 event ids (so many are duplicates, some
    within one request) while the writer is busy → they are committed in one transaction,
    each event stored once, and exactly one request sees each event as new."""
    rng = random.Random(13)
    requests = [[f"evt-{rng.randrange(12)}" for _ in range(rng.randint(1, 3))] for _ in range(30)]
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    with gated(store, monkeypatch) as (writer, gate):
        first = writer.record("zendesk", [("first", b"{}")])
        assert gate.entered.wait(10)
        sent: list[tuple[list[str], Future[list[bool]]]] = []
        start = threading.Barrier(len(requests))

        def send(ids: list[str]) -> None:
            start.wait()
            sent.append((ids, writer.record("zendesk", [(i, i.encode()) for i in ids])))

        threads = [threading.Thread(target=send, args=(ids,)) for ids in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        gate.opened.set()  # every request is queued: they make the next batch together
        answers = [(ids, future.result(timeout=30)) for ids, future in sent]
    assert first.result() == [True]

    assert len(gate.calls) == 2  # the gated one, then every waiting request together
    assert len(commits) == 2
    distinct = {i for ids in requests for i in ids}
    assert _stored(store) == Counter({("zendesk", i): 1 for i in distinct | {"first"}})
    new_per_event: Counter[str] = Counter()
    for ids, flags in answers:
        assert len(flags) == len(ids)
        new_per_event.update(i for i, new in zip(ids, flags, strict=True) if new)
    assert new_per_event == Counter(dict.fromkeys(distinct, 1))
    duplicates = sum(len(flags) - sum(flags) for _ids, flags in answers)
    assert duplicates == sum(map(len, requests)) - len(distinct)


def test_a_future_resolves_only_after_its_rows_are_committed(
    database: Database, store: Store
) -> None:
    """Seen from another connection at the moment each future resolves, the request's rows
    are already there (K2: no acknowledgement before the durable write)."""
    observer = database.new_store()
    writer = InboxWriter(store)
    seen: list[bool] = []
    lock = threading.Lock()

    def check(ids: list[str]) -> Callable[[Future[list[bool]]], None]:
        def done(_future: Future[list[bool]]) -> None:
            stored = _stored(observer)
            with lock:
                seen.append(all(stored[("zendesk", i)] == 1 for i in ids))

        return done

    try:
        futures = []
        for n in range(20):
            ids = [f"e{n}-a", f"e{n}-b"]
            future = writer.record("zendesk", [(i, b"{}") for i in ids])
            future.add_done_callback(check(ids))
            futures.append(future)
        for future in futures:
            assert future.result(timeout=30) == [True, True]
    finally:
        writer.close()
        observer.close()
    assert seen == [True] * 20


def _pair(n: int) -> list[tuple[str, bytes]]:
    return [(f"b{n}", b"{}"), ("shared", b"{}")]


def test_a_failed_commit_fails_only_its_batch_and_stores_nothing_of_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit of the second batch fails → every request of that batch fails (none is
    answered as recorded) and none of its rows is kept; the batch before and the request
    after are stored; a redelivery of the failed ones lands once."""
    commits = {"n": 0}

    def fail_second(_conn: Any) -> None:
        commits["n"] += 1
        if commits["n"] == 2:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error (simulated)"))

    event.listen(store.engine, "commit", fail_second)
    with gated(store, monkeypatch) as (writer, gate):
        first = writer.record("zendesk", [("first", b"{}")])
        assert gate.entered.wait(10)
        failing = [
            writer.record("zendesk", [(f"b{n}", b"{}"), ("shared", b"{}")]) for n in range(8)
        ]
        gate.opened.set()
        outcomes = [_outcome(f) for f in failing]
        after = writer.record("zendesk", [("after", b"{}")]).result(timeout=30)
    assert first.result() == [True]
    assert after == [True]
    assert all(isinstance(o, OperationalError) for o in outcomes)
    assert [ok for _ids, ok in gate.calls] == [True, False, True]
    assert set(_stored(store)) == {("zendesk", "first"), ("zendesk", "after")}

    retry = InboxWriter(store)
    try:
        again = [retry.record("zendesk", _pair(n)) for n in range(8)]
        flags = [f.result(timeout=30) for f in again]
    finally:
        retry.close()
    assert all(f[0] for f in flags)
    assert sum(f[1] for f in flags) == 1  # "shared" is new for exactly one request
    assert len(_stored(store)) == 2 + 8 + 1


def test_a_value_the_database_refuses_fails_only_the_request_carrying_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One request in a batch carries text the driver cannot encode (a lone surrogate): that
    request fails with the database's error, the others of the batch are stored (each is
    recorded again on its own)."""
    with gated(store, monkeypatch) as (writer, gate):
        writer.record("zendesk", [("first", b"{}")])
        assert gate.entered.wait(10)
        good = [writer.record("zendesk", [(f"g{n}", b"{}")]) for n in range(3)]
        bad = writer.record("zendesk", [("ok-part", b"{}"), ("bad\ud800", b"{}")])
        more = [writer.record("zendesk", [(f"h{n}", b"{}")]) for n in range(3)]
        gate.opened.set()
        assert [f.result(timeout=30) for f in good + more] == [[True]] * 6
        assert isinstance(_outcome(bad), UnicodeError)
    assert ("zendesk", "ok-part") not in _stored(store)  # a request is all or nothing
    assert len(_stored(store)) == 1 + 6


def test_the_writer_thread_ends_when_idle_and_a_new_request_starts_another(store: Store) -> None:
    writer = InboxWriter(store, idle_seconds=0.01)
    assert writer.record("zendesk", [("one", b"{}")]).result(timeout=30) == [True]
    writer.close()
    assert writer.record("zendesk", [("two", b"{}"), ("one", b"{}")]).result(timeout=30) == [
        True,
        False,
    ]
    writer.close()
    assert writer.record("zendesk", []).result() == []
    with pytest.raises(ValueError, match="max_events"):
        InboxWriter(store, max_events=0)
