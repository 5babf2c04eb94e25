"""SLA attainment against the targets of the route stored with each ticket link: attained at
the target, breached one second over it, pending while the target has not passed, an open
breach once it has, a backup route held to its rule's targets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from baton.core.learning import escalations
from baton.core.learning.sla import attainment, judge
from baton.core.mapping.spec import Sla, duration_seconds
from baton.core.store import Store
from baton.core.tables import TicketLinkRow
from tests.learning.test_metrics import T0, deliver, observed, record

SLAS = {"zendesk": {"vip": Sla(first_response="15m", resolution="1h")}}


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("4h", 14_400), ("2d", 172_800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


def test_at_the_target_is_attained_and_one_second_over_is_breached(store: Store) -> None:
    deliver(store, "1")
    record(
        store, observed("1", "resolved", 60, first_response_seconds=900, resolution_seconds=3600)
    )
    deliver(store, "2")
    record(
        store, observed("2", "resolved", 61, first_response_seconds=901, resolution_seconds=3601)
    )
    one, two = escalations(store)
    sla = SLAS["zendesk"]["vip"]
    later = T0 + timedelta(days=1)
    assert judge(one, sla, later) == {
        "first_response": ("attained", 0),
        "resolution": ("attained", 0),
    }
    assert judge(two, sla, later) == {
        "first_response": ("breached", 0),
        "resolution": ("breached", 0),
    }


def test_an_open_ticket_is_pending_until_its_target_passes_then_an_open_breach(
    store: Store,
) -> None:
    deliver(store, "1")  # created at T0, nothing observed yet
    [escalation] = escalations(store)
    sla = SLAS["zendesk"]["vip"]
    assert judge(escalation, sla, T0 + timedelta(minutes=15)) == {
        "first_response": ("pending", 0),
        "resolution": ("pending", 0),
    }
    assert judge(escalation, sla, T0 + timedelta(minutes=15, seconds=1)) == {
        "first_response": ("breached", 1),
        "resolution": ("pending", 0),
    }
    rules, breaches = attainment([escalation], SLAS, T0 + timedelta(hours=2))
    assert [(b.handoff_id, b.kind, b.overdue_seconds) for b in breaches] == [
        ("h-1", "first_response", 6300),
        ("h-1", "resolution", 3600),
    ]
    assert rules[0].counts == {"first_response": {"breached": 1}, "resolution": {"breached": 1}}


def test_a_ticket_that_ended_without_a_time_is_unmeasured(store: Store) -> None:
    deliver(store, "1")
    record(store, observed("1", "deleted", 5))
    [escalation] = escalations(store)
    verdicts = judge(escalation, SLAS["zendesk"]["vip"], T0 + timedelta(days=3))
    assert verdicts == {"first_response": ("unmeasured", 0), "resolution": ("unmeasured", 0)}


def test_a_backup_route_is_held_to_its_rules_targets_and_routes_without_one_are_left_out(
    store: Store,
) -> None:
    deliver(store, "1")
    with store.session() as session:  # the link says the backup target was used
        session.get(TicketLinkRow, "h-1").route = "vip (backup)"  # type: ignore[union-attr]
    record(store, observed("1", "resolved", 30, first_response_seconds=60, resolution_seconds=1800))
    rules, breaches = attainment(escalations(store), SLAS, T0 + timedelta(days=1))
    assert [(r.route, r.counts) for r in rules] == [
        ("vip", {"first_response": {"attained": 1}, "resolution": {"attained": 1}})
    ]
    assert breaches == []
    assert attainment(escalations(store), {}, T0) == ([], [])
