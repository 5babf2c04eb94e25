"""A sync run costs requests per export page, not per ticket: metrics come sideloaded.

The real connector syncs from the Zendesk sandbox through ``core.sync.run_sync``; the requests
are counted from the sandbox's own request log (what the server received).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.http import ZendeskSettings
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.mapping import load_mapping
from baton.core.store import Store
from baton.core.sync import run_sync
from baton.sandbox.clock import ManualClock
from baton.sandbox.faults import Fault
from baton.sandbox.zendesk import ZendeskSandbox, ZendeskState
from tests.support.paths import MAPPINGS, catalog_path

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
TICKETS = 120
PAGE = 25
TIER1, MAYA = 360002000001, 360003000001


@pytest.fixture
def zenpy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the connector set ZENPY_FORCE_* and put the previous values back afterwards."""
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "placeholder")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "placeholder")


@pytest.fixture
def seeded() -> Iterator[tuple[ZendeskState, ZendeskSandbox]]:
    """A sandbox holding ``TICKETS`` Baton tickets: every third solved and rated, one merged."""
    clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    state = ZendeskState.from_catalog(load_catalog(catalog_path("zendesk")), clock=clock)
    for n in range(TICKETS):
        data = {
            "subject": f"Handoff {n}",
            "comment": {"body": "The customer needs a person.", "public": False},
            "external_id": f"ho-sync-{n}",
            "group_id": TIER1,
            "assignee_id": MAYA,
        }
        state.create_ticket(data, "https://x")
    for ticket_id in range(1, TICKETS + 1, 3):
        state.agent_reply(ticket_id, "Sorted: your refund is on its way.")
        state.solve(ticket_id)
        state.rate(ticket_id, "good")
    state.merge(TICKETS, {"ids": [TICKETS - 1]})
    clock.advance(120)  # past the export's one-minute horizon
    with ZendeskSandbox(state) as sandbox:
        yield state, sandbox
    state.webhooks.stop()


def test_a_sync_makes_one_request_per_export_page_not_one_per_ticket(
    zenpy_env: None, seeded: tuple[ZendeskState, ZendeskSandbox], sqlite_store: Store
) -> None:
    state, sandbox = seeded
    connector = ZendeskConnector(
        ZendeskSettings.from_env(sandbox_settings(sandbox)),
        load_mapping(MAPPINGS, "zendesk"),
        clock=state.clock,  # the sandbox's time: its one-minute horizon
    )
    # Pages of PAGE tickets: the first page's link asks for that size (the export's own limit
    # is 1,000 a page, which would hold every ticket in one).
    start = f"{sandbox.base_url}{EXPORT_PATH}?start_time=0&per_page={PAGE}"
    first = {"tickets": [], "after_cursor": "", "after_url": start, "end_of_stream": False}
    state.faults.add(
        Fault(kind="status", method="GET", path_regex=f"^{EXPORT_PATH}$", status=200, body=first)
    )
    state.request_log.clear()
    try:
        summary = run_sync(
            sqlite_store,
            connector,
            name="zendesk",
            since=state.clock() - timedelta(hours=1),
            clock=state.clock,
        )
    finally:
        connector.close()

    requests = state.request_log.entries()
    assert summary.examined == TICKETS
    assert summary.pages == 1 + -(-TICKETS // PAGE)  # the injected empty page, then full ones
    assert len(requests) == summary.pages  # one request a page, whatever the page holds
    assert all(r.path == EXPORT_PATH and "include=metric_sets" in r.query for r in requests)
    assert connector.metrics_fallbacks == 0

    current = {n: sqlite_store.current_disposition(f"ho-sync-{n}") for n in (0, 1, TICKETS - 2)}
    solved, untouched, merged = current[0], current[1], current[TICKETS - 2]
    assert solved is not None
    assert untouched is not None
    assert merged is not None
    assert (solved.outcome, solved.public_replies, solved.csat) == ("resolved", 1, 1.0)
    assert (solved.group, solved.assignee) == ("Tier 1 Support", "Maya Okafor")
    assert (untouched.outcome, untouched.public_replies) == ("open", 0)
    assert (merged.outcome, merged.public_replies) == ("merged", 0)
