"""connectors.hubspot's change feed against the local HubSpot sandbox: the keyset search past
the 10,000-result cap (the cap made small on both sides), ties in one millisecond, merged and
archived tickets, owner history as transfers, CSAT, and tickets that are not Baton's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.connector import HubSpotConnector
from baton.core.disposition import Disposition
from baton.core.errors import PayloadError
from baton.core.ports import ChangePage
from tests.support.hubspot_portal import Portal, running_portal

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SEARCH = "/crm/v3/objects/tickets/search"
MAYA, DANIEL, PRIYA = "81000001", "81000002", "81000003"


@pytest.fixture
def portal() -> Iterator[Portal]:
    with running_portal(START) as found:
        yield found


def run(portal: Portal, connector: HubSpotConnector, cursor: str | None = None) -> list[ChangePage]:
    """One run, past the connector's search horizon (HubSpot's time less the settle delay)."""
    portal.clock.advance(facts.SEARCH_SETTLE_SECONDS + 1)
    pages = list(connector.changes(cursor, since=START - timedelta(seconds=1)))
    assert pages
    assert pages[-1].done
    assert not any(p.done for p in pages[:-1])
    return pages


def found(pages: list[ChangePage]) -> list[Disposition]:
    return [d for page in pages for d in page.dispositions]


def by_ticket(pages: list[ChangePage], outcome: str | None = None) -> dict[str, Disposition]:
    return {d.ticket_id: d for d in found(pages) if outcome is None or d.outcome == outcome}


# ---- past the cap --------------------------------------------------------------------------


def test_one_run_passes_the_search_cap_yielding_each_ticket_once(portal, monkeypatch) -> None:
    import baton.connectors.hubspot.facts as connector_facts
    import baton.sandbox.hubspot.facts as sandbox_facts

    monkeypatch.setattr(connector_facts, "SEARCH_MAX_RESULTS", 50)
    monkeypatch.setattr(sandbox_facts, "SEARCH_MAX_RESULTS", 50)
    tied = [portal.ticket() for _ in range(130)]  # one millisecond: a bulk edit
    later = []
    for _ in range(4):
        portal.clock.advance(1)
        later.append(portal.ticket())
    connector = portal.connector(page_limit=20)
    portal.state.request_log.clear()

    pages = run(portal, connector)

    ids = [d.ticket_id for d in found(pages)]
    assert sorted(ids) == sorted(tied + later)
    assert len(ids) == len(set(ids)) == 134
    statuses = portal.searches()
    assert statuses
    assert set(statuses) == {200}
    # 50 results per query at most and 134 tickets: at least three queries started over.
    assert len(statuses) >= 134 // 20 + 1
    assert sum(p.examined for p in pages) >= 134

    portal.state.request_log.clear()
    assert found(run(portal, connector, pages[-1].cursor)) == []
    assert len(portal.searches()) == 1


def test_a_rerun_yields_only_what_changed_since(portal) -> None:
    first, second = portal.ticket(), portal.ticket()
    connector = portal.connector(page_limit=1)
    pages = run(portal, connector)
    assert set(by_ticket(pages)) == {first, second}
    portal.clock.advance(5)
    portal.state.move_to_stage(second, "4")
    again = run(portal, connector, pages[-1].cursor)
    assert list(by_ticket(again)) == [second]
    assert by_ticket(again)[second].outcome == "resolved"
    settle = facts.SEARCH_SETTLE_SECONDS + 1  # the first run's wait, before the move
    assert by_ticket(again)[second].resolution_seconds == settle + 5


def test_an_unreadable_cursor_is_a_payload_error(portal) -> None:
    connector = portal.connector()
    with pytest.raises(PayloadError):
        list(connector.changes("not json", since=START))
    with pytest.raises(PayloadError):
        list(connector.changes(json.dumps({"id": 3}), since=START))


# ---- merged, archived ----------------------------------------------------------------------


def test_a_merged_away_ticket_is_reported_merged(portal) -> None:
    primary, merged = portal.ticket(), portal.ticket()
    portal.clock.advance(2)
    portal.state.agent_merge(primary, merged)
    pages = run(portal, portal.connector())
    gone = by_ticket(pages, "merged")
    assert list(gone) == [merged]
    assert gone[merged].handoff_id is None  # the store links it through the ticket link
    assert gone[merged].source == "sync"
    assert gone[merged].ticket_url is not None
    assert gone[merged].ticket_url.endswith(merged)
    assert by_ticket(pages, "open")[primary].handoff_id == "sync-00001"


def test_an_archived_ticket_is_deleted_on_the_last_page_once(portal) -> None:
    keep, drop = portal.ticket(), portal.ticket()
    connector = portal.connector(page_limit=1)
    before = run(portal, connector)
    assert not by_ticket(before, "deleted")
    portal.clock.advance(3)
    portal.state.agent_archive(drop)

    pages = run(portal, connector, before[-1].cursor)
    deleted = by_ticket(pages, "deleted")
    assert list(deleted) == [drop]
    assert deleted[drop].handoff_id == "sync-00002"
    settle = facts.SEARCH_SETTLE_SECONDS + 1  # the first run's wait, before the archive
    assert deleted[drop].occurred_at == START + timedelta(seconds=settle + 3)
    assert all(d.outcome != "deleted" for p in pages[:-1] for d in p.dispositions)
    assert keep not in by_ticket(pages)

    assert not by_ticket(run(portal, connector, pages[-1].cursor), "deleted")


def test_an_archived_agent_ticket_is_not_reported(portal) -> None:
    theirs = portal.ticket(handoff_id=None)
    portal.clock.advance(1)
    portal.state.agent_archive(theirs)
    pages = run(portal, portal.connector())
    assert not by_ticket(pages, "deleted")
    assert pages[-1].examined >= 1


# ---- what a ticket's disposition carries ---------------------------------------------------


def test_owner_changes_are_counted_as_transfers(portal) -> None:
    ticket = portal.ticket(hubspot_owner_id=MAYA)
    for owner in (DANIEL, DANIEL, PRIYA):
        portal.clock.advance(1)
        portal.state.assign(ticket, owner)
    disposition = by_ticket(run(portal, portal.connector()))[ticket]
    assert disposition.transfer_count == 2
    assert disposition.assignee == "Priya Natarajan"
    assert disposition.outcome == "transferred"  # an open stage, after transfers


def test_a_pipeline_move_is_a_transfer_and_a_reopen_is_counted(portal) -> None:
    ticket = portal.ticket()
    portal.clock.advance(1)
    portal.state.move_to_stage(ticket, "4")
    portal.clock.advance(1)
    portal.state.move_to_stage(ticket, "61000012", "61000001")
    disposition = by_ticket(run(portal, portal.connector()))[ticket]
    assert (disposition.transfer_count, disposition.reopen_count) == (1, 1)
    assert (disposition.group, disposition.raw_status) == ("Priority Escalations", "In progress")
    assert disposition.outcome == "reopened"  # an open stage after a closed one


def test_a_ticket_without_a_handoff_id_is_skipped(portal) -> None:
    ours, theirs = portal.ticket(), portal.ticket(handoff_id=None)
    pages = run(portal, portal.connector())
    assert set(by_ticket(pages)) == {ours}
    assert [t for p in pages for t in p.skipped] == [theirs]
    assert sum(p.examined for p in pages) == 2


@pytest.mark.parametrize(("score", "csat"), [(5, 1.0), (4, 0.75), (1, 0.0)])
def test_the_csat_property_reads_on_its_scale(portal, score: int, csat: float) -> None:
    ticket = portal.ticket()
    portal.clock.advance(1)
    portal.state.rate(ticket, score)
    disposition = by_ticket(run(portal, portal.connector()))[ticket]
    assert disposition.csat == pytest.approx(csat)
    assert disposition.csat_raw == str(score)


def test_a_stage_the_table_names_gives_its_outcome(portal) -> None:
    waiting = portal.ticket(hs_pipeline_stage="2")
    escalated = portal.ticket(hs_pipeline="61000001", hs_pipeline_stage="61000011")
    pages = run(portal, portal.connector())
    assert by_ticket(pages)[waiting].outcome == "pending"
    assert by_ticket(pages)[escalated].outcome == "open"
    assert by_ticket(pages)[escalated].raw_status == "Escalated"


def test_a_change_younger_than_the_search_horizon_waits_for_the_next_run(portal) -> None:
    """Search follows writes with a delay: what was modified within the settle window of
    HubSpot's own time (the answers' Date) is left ahead of the cursor, not skipped."""
    connector = portal.connector()
    ticket = portal.ticket()
    portal.clock.advance(facts.SEARCH_SETTLE_SECONDS - 10)
    early = list(connector.changes(None, since=START - timedelta(seconds=1)))
    assert ticket not in by_ticket(early)
    later = run(portal, connector, early[-1].cursor)
    assert list(by_ticket(later)) == [ticket]
