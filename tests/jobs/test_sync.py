"""The sync runner on SQLite and PostgreSQL: RELIABILITY S1–S4, the sync lock, migration 0002."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from jobs_fakes import (
    T0,
    ChangeLog,
    ScriptedFeed,
    kill_test_log,
    link_tickets,
    make_disposition,
)

from baton.core.errors import PayloadError, RetryableError
from baton.core.ports import ChangePage
from baton.core.store import Store, alembic_config
from baton.core.sync import DEFAULT_LOCK_SECONDS, SyncLocked, SyncSummary, run_sync
from baton.core.tables import Base

if TYPE_CHECKING:
    from tests.conftest import Database

HERE = Path(__file__).parent
REPO = HERE.parent.parent
SINCE = T0 - timedelta(days=1)


def _engine(source: Store | sa.Engine) -> sa.Engine:
    return source.engine if isinstance(source, Store) else source


def cursor(source: Store | sa.Engine, name: str = "zendesk") -> str | None:
    """The stored cursor, read through the store's engine or a plain one."""
    with _engine(source).connect() as conn:
        stmt = sa.text("SELECT cursor FROM sync_cursors WHERE name = :n")
        return conn.execute(stmt, {"n": name}).scalar_one_or_none()


def observations(source: Store | sa.Engine) -> list[tuple[Any, ...]]:
    """Every stored disposition, as (handoff, ticket, outcome, occurred_at), sorted."""
    with _engine(source).connect() as conn:
        rows = conn.execute(
            sa.text("SELECT handoff_id, ticket_id, outcome, occurred_at FROM dispositions")
        ).all()
    return sorted((h, t, o, str(at)[:19]) for h, t, o, at in rows)


def sync(store: Store, feed: Any, **options: Any) -> SyncSummary:
    return run_sync(store, feed, name="zendesk", since=SINCE, **options)


# --- S1 -----------------------------------------------------------------------------------


def test_s1_boundary_records_delivered_again_are_applied_once(store: Store) -> None:
    link_tickets(store, ["1", "2", "3"])
    log = ChangeLog(
        [
            make_disposition("1", "open", T0),
            make_disposition("2", "open", T0 + timedelta(minutes=1)),
            make_disposition("3", "open", T0 + timedelta(minutes=2)),
        ],
        page_size=2,
        overlap=1,  # every run re-reads the record at its cursor
    )
    first = sync(store, log)
    assert (first.pages, first.applied, first.duplicates) == (2, 3, 0)
    assert (first.cursor_before, first.cursor_after) == (None, "3")

    log.append(make_disposition("1", "resolved", T0 + timedelta(hours=1)))
    second = sync(store, log)
    assert log.requests == [None, "3"]
    assert (second.applied, second.duplicates) == (1, 1)  # ticket 3's "open" came again
    assert second.cursor_after == "4"
    third = sync(store, log)
    assert (third.applied, third.duplicates, third.advanced) == (0, 1, False)
    assert len(observations(store)) == 4
    assert store.current_disposition("h-1") is not None
    assert store.current_disposition("h-1").outcome == "resolved"  # type: ignore[union-attr]


def test_s1_a_webhook_and_a_sync_seeing_the_same_update_have_one_effect(store: Store) -> None:
    link_tickets(store, ["1"])
    from_webhook = make_disposition("1", "resolved", T0, handoff_id="h-1", source="webhook")
    assert store.add_disposition(from_webhook) is True
    assert store.add_disposition(from_webhook) is False
    summary = sync(store, ChangeLog([make_disposition("1", "resolved", T0)]))
    assert (summary.applied, summary.duplicates) == (0, 1)
    [stored] = store.dispositions("h-1")
    assert stored.source == "webhook"
    assert cursor(store) == "1"


def test_s1_one_observation_written_concurrently_is_stored_once(database: Database) -> None:
    stores = [database.new_store() for _ in range(2)]
    stores[0].migrate()
    barrier = threading.Barrier(8)
    results: list[bool] = []
    d = make_disposition("9", "pending", T0, handoff_id="h-9", source="webhook")

    def add(i: int) -> None:
        barrier.wait()
        results.append(stores[i % 2].add_disposition(d))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(results) == [False] * 7 + [True]
        assert len(stores[0].dispositions("h-9")) == 1
    finally:
        for s in stores:
            s.close()


# --- S2 -----------------------------------------------------------------------------------


def test_s2_failure_between_applying_and_committing_a_page_leaves_no_trace(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    link_tickets(store, ["1", "2", "3", "4"])
    entries = [make_disposition(str(n), "open", T0 + timedelta(minutes=n)) for n in range(1, 5)]
    set_cursor = store.set_cursor

    def fail_on_page_2(session: Any, name: str, value: str) -> None:
        set_cursor(session, name, value)
        session.flush()  # page 2's rows and cursor are written …
        if value == "4":
            raise RuntimeError("killed before commit")  # … and never committed

    monkeypatch.setattr(store, "set_cursor", fail_on_page_2)
    with pytest.raises(RuntimeError, match="killed before commit"):
        sync(store, ChangeLog(entries, page_size=2))
    assert cursor(store) == "2"
    assert [t for _, t, _, _ in observations(store)] == ["1", "2"]
    assert store.sync_lock("zendesk") is None  # released on the way out

    monkeypatch.undo()
    rerun = sync(store, ChangeLog(entries, page_size=2))
    assert (rerun.cursor_before, rerun.cursor_after) == ("2", "4")
    assert (rerun.pages, rerun.applied, rerun.duplicates) == (1, 2, 0)
    assert [t for _, t, _, _ in observations(store)] == ["1", "2", "3", "4"]


def run_with_lock_taken_over(store: Store, feed: Any) -> SyncSummary:
    """Rerun after a kill: the dead run's lock is only taken over once expired (here: a clock
    16 minutes ahead). PostgreSQL may need a moment to end the killed backend."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return sync(store, feed, clock=lambda: datetime.now(UTC) + timedelta(minutes=16))
        except SyncLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_s2_sigkill_between_applying_and_committing_then_rerun_equals_uninterrupted_run(
    database: Database, store: Store, tmp_path: Path
) -> None:
    link_tickets(store, ["1", "2", "3", "4"])
    marker = tmp_path / "blocked"
    options = database.engine_kwargs.get("connect_args", {}).get("options", "")
    child = subprocess.Popen(
        [sys.executable, str(HERE / "sync_child.py"), database.url, options, str(marker), "4"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"sync_child exited early: {child.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "sync_child never reached page 2"
            time.sleep(0.02)
        # Blocked inside page 2's transaction: page 1 is committed, page 2 is not visible.
        # (A plain engine: the store's own would queue behind the writer on SQLite.)
        reader = sa.create_engine(database.url, **database.engine_kwargs)
        try:
            assert cursor(reader) == "2"
            assert len(observations(reader)) == 2
        finally:
            reader.dispose()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.stdout is not None
        assert child.stderr is not None
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert cursor(store) == "2"
    assert len(observations(store)) == 2

    rerun = run_with_lock_taken_over(store, kill_test_log())
    assert (rerun.cursor_before, rerun.cursor_after) == ("2", "8")  # advanced once, past it
    assert (rerun.pages, rerun.applied, rerun.duplicates) == (3, 6, 0)

    reference = Store(f"sqlite:///{tmp_path / 'uninterrupted.db'}")
    try:
        reference.migrate()
        link_tickets(reference, ["1", "2", "3", "4"])
        whole = sync(reference, kill_test_log())
        assert (whole.pages, whole.applied) == (4, 8)
        assert observations(store) == observations(reference)
        assert cursor(store) == cursor(reference) == "8"
    finally:
        reference.close()


# --- S3 -----------------------------------------------------------------------------------


def test_s3_a_record_updated_during_a_run_is_picked_up(store: Store) -> None:
    link_tickets(store, ["1", "2"])
    log = ChangeLog(
        [make_disposition("1", "open", T0), make_disposition("2", "open", T0)], page_size=1
    )

    def agent_works_meanwhile(page: ChangePage) -> None:
        if page.cursor == "1":  # after page 1: ticket 1 moves; a later page of this run has it
            log.append(make_disposition("1", "pending", T0 + timedelta(minutes=5)))
        if page.done:  # after the last page: ticket 1 is solved; only the next run can see it
            log.append(make_disposition("1", "resolved", T0 + timedelta(minutes=9)))

    first = sync(store, log, on_page=agent_works_meanwhile)
    assert (first.pages, first.applied, first.cursor_after) == (3, 3, "3")
    assert store.current_disposition("h-1").outcome == "pending"  # type: ignore[union-attr]

    second = sync(store, log)
    assert (second.cursor_before, second.applied, second.cursor_after) == ("3", 1, "4")
    assert store.current_disposition("h-1").outcome == "resolved"  # type: ignore[union-attr]
    assert [d.outcome for d in store.dispositions("h-1")] == ["open", "pending", "resolved"]


# --- S4 (runner level) --------------------------------------------------------------------


def test_s4_an_empty_page_that_is_not_the_end_is_passed_over_and_done_stops(
    store: Store,
) -> None:
    link_tickets(store, ["1", "2", "3"])
    seen: list[str | None] = []
    feed = ScriptedFeed(
        [
            ChangePage([make_disposition("1", "open", T0)], "c1", done=False, examined=1),
            ChangePage([], "c2", done=False, examined=0),
            ChangePage([make_disposition("2", "open", T0)], "c3", done=True, examined=5),
            ChangePage([make_disposition("3", "open", T0)], "c4", done=True, examined=1),
        ]
    )
    summary = sync(store, feed, on_page=lambda page: seen.append(cursor(store)))
    assert seen == ["c1", "c2", "c3"]  # the empty page's cursor committed too
    assert feed.served == 3  # nothing read after the end-of-stream flag
    assert (summary.pages, summary.examined, summary.applied) == (3, 6, 2)
    assert summary.cursor_after == cursor(store) == "c3"
    assert store.dispositions("h-3") == []


def test_k5_a_cursor_the_store_cannot_hold_stops_the_run_cleanly(store: Store) -> None:
    """K5: a page whose cursor holds a NUL is refused before anything of it is applied; the
    pages before it stay committed and the stored cursor is theirs."""
    link_tickets(store, ["1", "2"])
    feed = ScriptedFeed(
        [
            ChangePage([make_disposition("1", "open", T0)], "c1", done=False, examined=1),
            ChangePage([make_disposition("2", "open", T0)], "c\x002", done=True, examined=1),
        ]
    )
    with pytest.raises(PayloadError, match="cursor that cannot be stored"):
        sync(store, feed)
    assert cursor(store) == "c1"
    assert store.dispositions("h-2") == []
    assert [d.outcome for d in store.dispositions("h-1")] == ["open"]


def test_s4_a_feed_with_no_pages_changes_nothing(store: Store) -> None:
    with store.session() as session:
        store.set_cursor(session, "zendesk", "c9")
    summary = sync(store, ScriptedFeed([]))
    assert (summary.pages, summary.cursor_before, summary.cursor_after) == (0, "c9", "c9")
    assert not summary.advanced


def test_tickets_baton_did_not_create_are_skipped_and_known_handoff_ids_kept(
    store: Store,
) -> None:
    link_tickets(store, ["1"])
    feed = ScriptedFeed(
        [
            ChangePage(
                [
                    make_disposition("1", "open", T0),
                    make_disposition("404", "open", T0),
                    make_disposition("77", "open", T0, handoff_id="h-given"),
                ],
                "c1",
                done=True,
                skipped=["555"],
            )
        ]
    )
    summary = sync(store, feed)
    assert (summary.applied, summary.skipped, summary.examined) == (2, 2, 3)
    assert [d.handoff_id for d in store.dispositions("h-1")] == ["h-1"]
    assert len(store.dispositions("h-given")) == 1
    assert all(t != "404" for _, t, _, _ in observations(store))


def test_a_feed_failure_keeps_the_pages_before_it_and_releases_the_lock(store: Store) -> None:
    link_tickets(store, ["1"])
    feed = ScriptedFeed(
        [
            ChangePage([make_disposition("1", "open", T0)], "c1", done=False),
            RetryableError("rate limited", platform="zendesk", status=429, retry_after=60),
        ]
    )
    with pytest.raises(RetryableError):
        sync(store, feed)
    assert cursor(store) == "c1"
    assert len(store.dispositions("h-1")) == 1
    assert store.sync_lock("zendesk") is None


# --- the sync lock ------------------------------------------------------------------------


def test_sync_lock_a_second_run_is_refused_while_one_holds_it(store: Store) -> None:
    held = store.acquire_sync_lock("zendesk", "cron@host-a", seconds=900)
    assert held.owner == "cron@host-a"
    feed = ChangeLog([make_disposition("1", "open", T0)])
    with pytest.raises(SyncLocked) as caught:
        sync(store, feed)
    assert caught.value.holder == "cron@host-a"
    assert "another run (cron@host-a) holds the lock until" in str(caught.value)
    assert feed.requests == []  # nothing done
    assert cursor(store) is None
    assert store.sync_lock("zendesk") == held  # and the holder keeps it
    # Other sync names are independent.
    assert run_sync(store, ScriptedFeed([]), name="hubspot", since=SINCE).pages == 0


def test_sync_lock_an_expired_lock_is_taken_over(store: Store) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=20)
    store.acquire_sync_lock("zendesk", "killed-job", seconds=900, now=long_ago)
    link_tickets(store, ["1"])
    summary = sync(store, ChangeLog([make_disposition("1", "open", T0)]))
    assert summary.applied == 1
    assert store.sync_lock("zendesk") is None


def test_sync_lock_a_run_that_lost_its_lock_cannot_commit_another_page(store: Store) -> None:
    link_tickets(store, ["1", "2"])
    log = ChangeLog(
        [make_disposition("1", "open", T0), make_disposition("2", "open", T0)], page_size=1
    )
    usurper: list[str] = []

    def expire_and_take_over(page: ChangePage) -> None:
        if not usurper:
            later = datetime.now(UTC) + timedelta(hours=1)
            usurper.append(store.acquire_sync_lock("zendesk", "other", seconds=60, now=later).owner)

    with pytest.raises(SyncLocked):
        sync(store, log, on_page=expire_and_take_over, lock_seconds=1)
    assert usurper == ["other"]
    assert cursor(store) == "1"
    assert store.dispositions("h-2") == []
    lock = store.sync_lock("zendesk")
    assert lock is not None
    assert lock.owner == "other"  # the loser did not release the winner's lock


class SlowPages:
    """A feed whose second page comes ``wait`` seconds after the first (a platform's rate
    limit), while ``during`` runs once in that wait."""

    platform = "zendesk"

    def __init__(self, wait: float, during: Any) -> None:
        self.wait, self.during = wait, during

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        yield ChangePage([make_disposition("1", "open", T0)], cursor="1", done=False)
        time.sleep(self.wait / 2)
        self.during()
        time.sleep(self.wait / 2)
        yield ChangePage([make_disposition("2", "open", T0)], cursor="2", done=True)


def test_sync_lock_a_live_run_keeps_its_lock_through_a_wait_longer_than_the_lease(
    store: Store,
) -> None:
    link_tickets(store, ["1", "2"])
    lease = 0.3
    others: list[str] = []

    def another_run_tries() -> None:  # past the first lease: only the renewals keep it
        others.append(store.acquire_sync_lock("zendesk", "other", seconds=60).owner)

    summary = sync(store, SlowPages(4 * lease, another_run_tries), lock_seconds=lease)
    assert (summary.pages, summary.applied) == (2, 2)
    assert others != ["other"]  # the live run still held the lock
    assert store.sync_lock("zendesk") is None  # and gave it back at the end


def test_sync_lock_a_run_that_stops_renewing_loses_it_one_lease_later(store: Store) -> None:
    # A killed run renews no more: its lock is free once one lease has run out.
    start = datetime.now(UTC)
    store.acquire_sync_lock("zendesk", "killed", seconds=DEFAULT_LOCK_SECONDS, now=start)
    early = start + timedelta(seconds=DEFAULT_LOCK_SECONDS - 1)
    assert store.acquire_sync_lock("zendesk", "next", seconds=60, now=early).owner == "killed"
    late = start + timedelta(seconds=DEFAULT_LOCK_SECONDS + 1)
    assert store.acquire_sync_lock("zendesk", "next", seconds=60, now=late).owner == "next"


def test_sync_lock_concurrent_takers_one_wins(database: Database) -> None:
    stores = [database.new_store() for _ in range(2)]
    stores[0].migrate()
    barrier = threading.Barrier(6)
    winners: list[str] = []

    def take(i: int) -> None:
        barrier.wait()
        winners.append(stores[i % 2].acquire_sync_lock("zendesk", f"run-{i}", seconds=60).owner)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(winners) == 6
        assert len(set(winners)) == 1  # everyone agrees on the one holder
    finally:
        for s in stores:
            s.close()


# --- migration 0002 -----------------------------------------------------------------------


def test_migration_0002_leads_to_head_and_schema_matches_metadata(store: Store) -> None:
    store.migrate()
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    assert head is not None
    assert "0002" in {r.revision for r in scripts.iterate_revisions(head, "base")}
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        assert context.get_current_revision() == head
        assert compare_metadata(context, Base.metadata) == []


def test_migration_0002_keeps_the_first_of_duplicate_observations(database: Database) -> None:
    store = database.new_store()
    try:
        with store.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0001")
        insert = sa.text(
            "INSERT INTO dispositions (handoff_id, platform, ticket_id, outcome, occurred_at,"
            " source, event_id, data, recorded_at) VALUES (:h, 'zendesk', '1', :o, :at,"
            " :s, NULL, '{}', :at)"
        )
        at = datetime(2026, 3, 1, 12, 0)  # naive: raw SQL, stored as the UTC wall time
        with store.engine.begin() as conn:
            for outcome, source in (("open", "webhook"), ("open", "sync"), ("resolved", "sync")):
                conn.execute(insert, {"h": "h-1", "o": outcome, "at": at, "s": source})
        store.migrate()
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT outcome, source FROM dispositions ORDER BY id")
            ).all()
        assert [tuple(r) for r in rows] == [("open", "webhook"), ("resolved", "sync")]
    finally:
        store.close()
