"""A 401/403 pauses the platform for every process (RELIABILITY R1, the shared pause).

Two Stores on one database stand for two processes: each has its own engine and pool, and
shares nothing with the other but the database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from jobs_fakes import FakeCreator
from test_cli_jobs import invoke, make_app

from baton.core.delivery import DeliveryWorker
from baton.core.errors import AccessDenied
from baton.core.retry import RetryPolicy
from baton.core.store import Store
from tests.support.builders import make_handoff

if TYPE_CHECKING:
    from tests.conftest import Database

T0 = datetime.now(UTC) + timedelta(days=1)  # after the handoffs are due, however late this runs
DENIED = AccessDenied("credentials or permissions refused (401)", platform="zendesk", status=401)


def worker(store: Store, creator: FakeCreator, owner: str) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        {"zendesk": creator},
        owner=owner,
        policy=RetryPolicy(pause_seconds=300),
        clock=lambda: T0,
        sleep=lambda _s: None,
        batch=1,
    )


def test_a_401_seen_by_one_process_stops_the_other_from_calling(
    database: Database, store: Store
) -> None:
    for i in range(4):
        store.add_handoff(make_handoff(f"h-{i}"), "zendesk")
    other = database.new_store()
    try:
        refused, counting = FakeCreator(script=[DENIED]), FakeCreator()
        a, b = worker(store, refused, "a"), worker(other, counting, "b")

        assert a.run_once() == 1  # the one call A makes is refused: 401
        assert len(refused.calls) == 1
        assert b.run_once() == 0  # B claims nothing for the paused platform...
        assert counting.calls == []  # ...and calls nothing

        pauses = other.platform_pauses(T0)
        assert set(pauses) == {"zendesk"}
        assert pauses["zendesk"].until == T0 + timedelta(seconds=300)
        assert "AccessDenied http_401" in pauses["zendesk"].reason
        assert other.platform_pauses(T0 + timedelta(seconds=301)) == {}
    finally:
        other.close()


def test_a_longer_pause_is_never_shortened(store: Store) -> None:
    later = T0 + timedelta(minutes=10)
    assert store.pause_platform("zendesk", until=later, reason="first") == later
    assert store.pause_platform("zendesk", until=T0, reason="second") == later
    assert store.platform_pauses(T0)["zendesk"].reason == "first"


def test_baton_deliveries_shows_the_pause_and_its_reason(database: Database, store: Store) -> None:
    far = T0 + timedelta(days=3650)  # still paused when the command reads it
    store.pause_platform("zendesk", until=far, reason="AccessDenied http_401: refused (401)")
    result = invoke(make_app(database, {}), "deliveries")
    assert result.exit_code == 0, result.output
    assert "zendesk: deliveries paused until" in result.stderr
    assert "AccessDenied http_401: refused (401)" in result.stderr
