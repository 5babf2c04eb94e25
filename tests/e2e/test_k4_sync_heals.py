"""K4: after webhooks were lost for days, one sync run brings local dispositions equal to the
platform's. The sandbox has no webhook target at all, its clock moves over four days of agent
work, and only ``run_sync`` tells Baton what happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from baton.connectors.base import connector_for
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.delivery import delivery_workers
from baton.core.handoff import parse_handoff
from baton.core.mapping import load_mapping
from baton.core.store import Store
from baton.core.sync import run_sync
from baton.sandbox.server import ZendeskSandbox
from baton.sandbox.zendesk import ManualClock, ZendeskState

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
DAY = 86_400.0


def test_k4_after_days_of_lost_webhooks_one_sync_run_matches_the_platform(store: Store) -> None:
    started = datetime.now(UTC) - timedelta(days=5)
    clock = ManualClock(started)
    state = ZendeskState.from_catalog(
        load_catalog(MAPPINGS / "catalogs" / "zendesk.json"), clock=clock
    )
    handoffs = [
        parse_handoff(p.read_bytes())
        for p in sorted((ROOT / "examples" / "handoffs").glob("*.json"))
    ]
    with ZendeskSandbox(state) as sandbox:  # no WebhookTarget: every webhook is lost
        connector = connector_for(
            "zendesk", load_mapping(MAPPINGS, "zendesk"), sandbox_settings(sandbox)
        )
        for handoff in handoffs:
            store.add_handoff(handoff, "zendesk")
        [worker] = delivery_workers(store, {"zendesk": connector})
        worker.drain()
        ticket = {}
        for handoff in handoffs:
            link = store.ticket_link(handoff.id)
            assert link is not None
            ticket[handoff.id] = int(link.ticket_id)
        t = [ticket[h.id] for h in handoffs]
        general = next(g.id for g in state.groups.values() if g.name == "General Support")

        clock.advance(DAY)
        state.agent_reply(t[0], "Refund approved.")
        state.solve(t[0])
        state.rate(t[0], "good")
        clock.advance(DAY)
        state.solve(t[1])
        clock.advance(3_600)
        state.reopen(t[1])
        state.reassign(t[2], group_id=general)
        clock.advance(DAY)
        state.solve(t[3])
        state.rate(t[3], "bad")
        state.delete(t[4])
        clock.advance(DAY)

        summary = run_sync(store, connector, name="zendesk", since=started - timedelta(hours=1))
        connector.close()

    expected = {
        t[0]: ("resolved", "solved", 1.0),
        t[1]: ("reopened", "open", None),
        t[2]: ("transferred", "new", None),
        t[3]: ("resolved", "solved", 0.0),
        t[4]: ("deleted", None, None),
        t[5]: ("open", "new", None),
        t[6]: ("open", "new", None),
        t[7]: ("open", "new", None),
    }
    assert summary.examined == len(handoffs)
    for handoff in handoffs:
        outcome, status, csat = expected[ticket[handoff.id]]
        platform_ticket = state.tickets[ticket[handoff.id]]
        if status is not None:  # the sandbox agrees with what the test did
            assert platform_ticket.status == status
        current = store.current_disposition(handoff.id)
        assert current is not None, handoff.id
        assert (current.outcome, current.csat) == (outcome, csat), handoff.id
    reopened = store.current_disposition(handoffs[1].id)
    transferred = store.current_disposition(handoffs[2].id)
    assert reopened is not None
    assert reopened.reopen_count == 1
    assert transferred is not None
    assert transferred.transfer_count == 1
    with store.session() as session:
        assert store.get_cursor(session, "zendesk") == summary.cursor_after
