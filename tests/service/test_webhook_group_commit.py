"""The receiver over the inbox's group commit, through HTTP, on SQLite and PostgreSQL: many
concurrent webhooks with duplicates among them are each stored once and counted right, and a
transaction whose commit fails answers 503 to every request in it — none 200 — with nothing of
them stored, while the requests of other transactions get their 200 (RELIABILITY D2, K2).

Which requests share a transaction depends on timing; these tests check what must hold for
every batching (tests/store/test_inbox_writer.py forces the batches).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from baton.core.tables import InboundEventRow


def _stored(harness: Any) -> Counter[str]:
    with harness.store.reading() as session:
        return Counter(session.scalars(select(InboundEventRow.event_id)))


def _post_all(harness: Any, bodies: Sequence[bytes]) -> list[Any]:
    """POST every body at once, one thread each; the responses in the same order."""
    responses: list[Any] = [None] * len(bodies)
    start = threading.Barrier(len(bodies))

    def post(index: int) -> None:
        start.wait()
        responses[index] = harness.post_event(bodies[index])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_concurrent_webhooks_with_duplicates_are_stored_once_and_counted_right(
    db_harness: Any, zendesk_event: Callable[..., bytes]
) -> None:
    ids = [f"evt-{n % 8}" for n in range(24)]
    responses = _post_all(db_harness, [zendesk_event(i) for i in ids])

    assert [r.status_code for r in responses] == [200] * 24
    assert sum(r.json()["received"] for r in responses) == 24
    assert sum(r.json()["duplicates"] for r in responses) == 24 - 8
    assert _stored(db_harness) == Counter(dict.fromkeys(set(ids), 1))
    metrics = db_harness.client.get("/metrics").text
    assert 'baton_webhooks_received_total{platform="zendesk",result="verified"} 8.0' in metrics
    assert 'baton_webhooks_received_total{platform="zendesk",result="duplicate"} 16.0' in metrics


def test_a_failed_commit_answers_503_to_its_whole_batch_and_stores_none_of_it(
    db_harness: Any, zendesk_event: Callable[..., bytes], monkeypatch: Any
) -> None:
    """Every transaction holding the event ``poison`` fails at its commit. Each request is
    then 200 with its event stored, or 503 with Retry-After and nothing stored — and every
    request that shared a transaction with ``poison`` is a 503. The redelivery of the 503s,
    the store healthy again, stores each event once."""
    store = db_harness.store
    record = store.record_inbound_events
    batches: list[tuple[set[str], bool]] = []
    poisoned = {"now": False, "on": True}

    def recording(events: Sequence[tuple[str, str, bytes]]) -> list[bool]:
        ids = {event_id for _platform, event_id, _body in events}
        poisoned["now"] = poisoned["on"] and "poison" in ids
        try:
            flags = record(events)
        except Exception:
            batches.append((ids, False))
            raise
        finally:
            poisoned["now"] = False
        batches.append((ids, True))
        return flags

    def commit(_conn: Any) -> None:
        if poisoned["now"]:
            raise OperationalError("COMMIT", {}, Exception("the disk is full (simulated)"))

    monkeypatch.setattr(store, "record_inbound_events", recording)
    event.listen(store.engine, "commit", commit)
    ids = ["poison", *(f"evt-{n}" for n in range(15))]
    responses = dict(zip(ids, _post_all(db_harness, [zendesk_event(i) for i in ids]), strict=True))

    stored = _stored(db_harness)
    assert responses["poison"].status_code == 503
    for event_id, response in responses.items():
        assert response.status_code in (200, 503)
        if response.status_code == 200:
            assert stored[event_id] == 1
            assert response.json() == {"received": 1, "duplicates": 0}
        else:
            assert stored[event_id] == 0
            assert response.headers["Retry-After"]
    for ids_in_batch, committed in batches:
        if not committed:
            assert all(responses[i].status_code == 503 for i in ids_in_batch)
    assert sum(r.status_code == 503 for r in responses.values()) == sum(
        len(b) for b, committed in batches if not committed
    )

    poisoned["on"] = False
    failed = [i for i, r in responses.items() if r.status_code == 503]
    again = _post_all(db_harness, [zendesk_event(i) for i in failed])
    assert [r.json() for r in again] == [{"received": 1, "duplicates": 0}] * len(failed)
    assert _stored(db_harness) == Counter(dict.fromkeys(ids, 1))
