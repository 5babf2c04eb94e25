"""Inbound events, dedupe and order, through the receiver and the inbox processor:
RELIABILITY D2 and D3. D1, D4 and D5 for every platform are in ``tests/contract/``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from baton.core.errors import ConfigError
from baton.core.inbox import InboxProcessor
from baton.core.store_inbox import PRUNE_CHUNK
from baton.core.tables import InboundEventRow
from baton.sandbox.server import serve_in_thread
from baton.webhooks.settings import ServiceSettings


def test_d2_same_event_from_ten_threads_at_once_is_one_row(
    db_harness: Any, zendesk_event: Any, signer: Any
) -> None:
    """D2: the same event fired from 10 threads at once, over real HTTP → every answer 2xx,
    one inbox row, exactly one of them not a duplicate (the unique constraint decides)."""
    h = db_harness
    body = zendesk_event("evt-d2")
    barrier = threading.Barrier(10)
    answers: list[dict[str, int]] = []
    errors: list[BaseException] = []

    with serve_in_thread(h.app) as server:

        def fire() -> None:
            try:
                with httpx.Client(base_url=server.base_url, timeout=30) as client:
                    barrier.wait()
                    r = client.post("/webhooks/zendesk", content=body, headers=signer(body))
                    r.raise_for_status()
                    answers.append(r.json())
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=fire) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    assert errors == []
    assert len(answers) == 10
    assert sum(1 for a in answers if a["duplicates"] == 0) == 1
    assert h.store.table_counts()["inbound_events"] == 1


DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("retention_days", "age", "remembered"),
    [
        pytest.param(None, 4 * DAY, True, id="default-retention-event-4-days-old"),
        pytest.param(None, 7 * DAY, True, id="default-retention-event-exactly-7-days-old"),
        pytest.param(None, 7 * DAY + SECOND, False, id="default-retention-event-past-7-days"),
        pytest.param(4, 4 * DAY, True, id="minimum-retention-event-exactly-4-days-old"),
        pytest.param(4, 4 * DAY + SECOND, False, id="minimum-retention-event-past-4-days"),
        pytest.param(10, 9 * DAY, True, id="configured-10-days-event-9-days-old"),
    ],
)
def test_d3_dedupe_memory_outlives_four_days_and_lasts_the_configured_retention(
    make_harness: Any,
    store: Any,
    zendesk_event: Any,
    retention_days: int | None,
    age: timedelta,
    remembered: bool,
) -> None:
    """D3: an event processed 4 days ago (the senders' retry horizon) survives pruning under
    the default retention (7 days) and under the minimum (4); one processed up to the
    configured retention is still a duplicate when redelivered. Past the retention it is
    pruned and a redelivery counts as new again (so the aging and the pruning are real).
    On SQLite and PostgreSQL."""
    changes = {} if retention_days is None else {"inbox_retention_days": retention_days}
    harness = make_harness(store, **changes)
    assert harness.settings.inbox_retention_days == (retention_days or 7)
    now = datetime.now(UTC).replace(microsecond=0)  # the prune's "now", pinned
    inbox = InboxProcessor(
        harness.store,
        {"zendesk": harness.source},
        retention_days=harness.settings.inbox_retention_days,
        clock=lambda: now,
    )
    body = zendesk_event("evt-d3")
    assert harness.post_event(body).json() == {"received": 1, "duplicates": 0}
    assert inbox.drain() == 1
    _age(harness.store, "evt-d3", received_at=now - age)

    assert inbox.prune() == (0 if remembered else 1)

    response = harness.post_event(body)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "duplicates": 1 if remembered else 0}
    assert inbox.drain() == (0 if remembered else 1)


def _age(store: Any, event_id: str, *, received_at: datetime) -> None:
    with store.session() as session:
        session.execute(
            update(InboundEventRow)
            .where(InboundEventRow.event_id == event_id)
            .values(received_at=received_at)
        )


def test_d3_prune_removes_only_processed_events_older_than_retention(
    store: Any, fake_source: Any
) -> None:
    """D3: prune deletes processed events past the retention window; newer processed events,
    and received or failed events of any age, stay."""
    inbox = InboxProcessor(store, {"zendesk": fake_source()}, retention_days=4)
    for event_id in ("old-processed", "new-processed", "old-received", "old-failed"):
        store.record_inbound_event("zendesk", event_id, b"{}")
    with store.session() as session:
        for event_id, state, days in [
            ("old-processed", "processed", 5),
            ("new-processed", "processed", 3.9),
            ("old-received", "received", 30),
            ("old-failed", "failed", 30),
        ]:
            session.execute(
                update(InboundEventRow)
                .where(InboundEventRow.event_id == event_id)
                .values(state=state, received_at=datetime.now(UTC) - timedelta(days=days))
            )

    assert inbox.prune() == 1

    with store.session() as session:
        left = set(session.scalars(select(InboundEventRow.event_id)))
    assert left == {"new-processed", "old-received", "old-failed"}


def test_d3_prune_works_in_chunks(sqlite_store: Any, fake_source: Any) -> None:
    """D3: more old events than one delete chunk are all pruned."""
    inbox = InboxProcessor(sqlite_store, {"zendesk": fake_source()})
    for i in range(PRUNE_CHUNK + 7):
        sqlite_store.record_inbound_event("zendesk", f"e{i}", b"{}")
    with sqlite_store.session() as session:
        session.execute(update(InboundEventRow).values(state="processed"))
    assert inbox.prune(older_than=datetime.now(UTC) + timedelta(seconds=1)) == 507


def test_d3_retention_below_four_days_is_rejected_at_startup(
    sqlite_store: Any, fake_source: Any
) -> None:
    """D3: a retention shorter than the senders' retry horizons (< 4 days) is a config error,
    in the settings and in the processor."""
    with pytest.raises(ConfigError, match="BATON_INBOX_RETENTION_DAYS"):
        ServiceSettings.from_env({"BATON_INBOX_RETENTION_DAYS": "3"})
    with pytest.raises(ConfigError, match="at least 4 days"):
        InboxProcessor(sqlite_store, {"zendesk": fake_source()}, retention_days=3)
    assert ServiceSettings.from_env({"BATON_INBOX_RETENTION_DAYS": "4"}).inbox_retention_days == 4
