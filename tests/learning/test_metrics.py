"""The learning metrics on hand-built histories whose answers are worked out here, read back
through the store on SQLite and PostgreSQL: medians and p90, ties, a stale observation that
arrives late, a transfer then a resolve, a reopen after a resolve, durability, deletions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.core.disposition import Disposition
from baton.core.learning import Definitions, by_dimension, episodes, escalations, measure
from baton.core.learning.metrics import spread
from baton.core.store import Store
from tests.support.builders import make_handoff

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
NOW = T0 + timedelta(days=30)


def observed(ticket: str, outcome: str, minutes: float, **fields: Any) -> Disposition:
    """An observation of ``ticket`` ``minutes`` after T0."""
    return Disposition(
        handoff_id=f"h-{ticket}",
        platform="zendesk",
        ticket_id=ticket,
        outcome=outcome,  # type: ignore[arg-type]
        occurred_at=T0 + timedelta(minutes=minutes),
        source="webhook",
        **fields,
    )


def deliver(store: Store, ticket: str, *, created: datetime = T0, **changes: Any) -> None:
    """Handoff ``h-<ticket>`` accepted and delivered as ticket ``<ticket>``."""
    handoff = make_handoff(f"h-{ticket}", created_at=created.isoformat(), **changes)
    store.add_handoff(handoff, "zendesk")
    [claim] = store.claim_deliveries("test", limit=1)
    store.complete_delivery(
        claim.delivery_id, "test", ticket_id=ticket, ticket_url=None, route="vip", target="VIP"
    )


def record(store: Store, *history: Disposition) -> None:
    """Store observations in the order given (recording order)."""
    for item in history:
        assert store.add_disposition(item)


def test_spread_median_and_nearest_rank_p90() -> None:
    assert (spread([]).median, spread([]).p90) == (None, None)
    assert (spread([7]).median, spread([7]).p90) == (7, 7)
    # 10 values 1..10: median (5+6)/2 = 5.5; p90 = the 9th smallest = 9
    assert (spread(list(range(10, 0, -1))).median, spread(list(range(1, 11))).p90) == (5.5, 9)
    # 11 values: p90 rank ceil(9.9) = 10 → the 10th smallest
    eleven = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]
    assert (spread(eleven).median, spread(eleven).p90) == (6, 10)


def test_a_reopen_after_a_resolve_starts_a_new_episode_that_keeps_its_own_numbers() -> None:
    history = [
        observed("1", "open", 0),
        observed("1", "resolved", 60, resolution_seconds=3600, csat=1.0),
        observed("1", "reopened", 600, reopen_count=1),
        observed("1", "resolved", 900, resolution_seconds=54_000, reopen_count=1, csat=0.0),
    ]
    first, second = episodes(history)
    assert (first.resolution_seconds, first.csat, first.resolved_at) == (
        3600,
        1.0,
        T0 + timedelta(minutes=60),
    )
    assert (second.resolution_seconds, second.csat, second.index) == (54_000, 0.0, 1)


def test_every_metric_on_a_worked_history(store: Store) -> None:
    # 1: resolved in 30 min, first response 5 min, 1 public reply, rated good → quick fix.
    deliver(store, "1")
    record(
        store,
        observed("1", "open", 0, first_response_seconds=300),
        observed("1", "resolved", 30, resolution_seconds=1800, public_replies=1, csat=1.0),
    )
    # 2: transferred, then resolved in 3 h; first response 10 min; rated bad → not right party.
    deliver(store, "2", triggers=[{"kind": "sentiment"}, {"kind": "high_value"}])
    record(
        store,
        observed("2", "open", 0, first_response_seconds=600),
        observed("2", "transferred", 20, transfer_count=1),
        observed("2", "resolved", 180, resolution_seconds=10_800, transfer_count=1, csat=0.0),
    )
    # 3: resolved in 40 min, then reopened after 2 days and resolved again: not quick, and its
    # first resolution is not durable (reopened within 7 days); the second one is.
    deliver(store, "3")
    record(
        store,
        observed("3", "resolved", 40, resolution_seconds=2400, public_replies=0),
        observed("3", "reopened", 2 * 1440 + 40, reopen_count=1),
        observed("3", "resolved", 2 * 1440 + 100, resolution_seconds=176_400, reopen_count=1),
    )
    # 4: a stale "open" recorded after the newer "resolved" (same ticket): still resolved.
    # Its replies are unknown, so it is never counted as a quick fix.
    deliver(store, "4")
    record(
        store,
        observed("4", "resolved", 50, resolution_seconds=3000),
        observed("4", "open", 10, first_response_seconds=900),
    )
    # 5: deleted: counted apart, out of every rate.
    deliver(store, "5")
    record(store, observed("5", "open", 0), observed("5", "deleted", 5))
    # 6: delivered, nothing observed yet.
    deliver(store, "6")
    # 7: a tie on the platform's time: the later recorded ("pending") is current.
    deliver(store, "7")
    record(store, observed("7", "open", 15), observed("7", "pending", 15))

    found = list(escalations(store))
    result = measure(found, now=NOW)

    assert result.escalations == 7
    assert result.outcomes == {
        "resolved": 4,
        "deleted": 1,
        "unobserved": 1,
        "pending": 1,
    }
    assert (result.never_resolvable, result.resolved) == (1, 4)
    # first responses of first episodes: 300, 600, 900 → median 600, p90 rank 3 → 900
    assert (result.first_response.count, result.first_response.median) == (3, 600)
    assert result.first_response.p90 == 900
    # first resolutions: 1800, 10800, 2400, 3000 → median (2400+3000)/2, p90 rank 4 → 10800
    assert (result.resolution.median, result.resolution.p90) == (2700, 10_800)
    # ratings: 1.0 and 0.0 over 4 resolved
    assert (result.csat_mean, result.csat_responses, result.csat_response_rate) == (0.5, 2, 0.5)
    assert (result.csat_good, result.csat_bad) == (1, 1)
    # right party: 1, 3, 4 of 4 resolved (2 was transferred)
    assert result.right_party_rate == 3 / 4
    # quick: only 1 (3 was reopened, 4's replies unknown, 2 took 3 h)
    assert result.quick_fix_rate == 1 / 4
    # durable: resolved episodes old enough: 1, 2, 3a, 3b, 4 → all but 3a
    assert (result.durable_resolved, result.durable_judged) == (4, 5)


def test_durability_waits_until_the_window_has_passed(store: Store) -> None:
    deliver(store, "1")
    record(store, observed("1", "resolved", 0, resolution_seconds=60))
    [escalation] = escalations(store)
    young = measure([escalation], now=T0 + timedelta(days=7) - timedelta(seconds=1))
    old = measure([escalation], now=T0 + timedelta(days=7))
    assert (young.durable_judged, young.durable_rate) == (0, None)
    assert (old.durable_judged, old.durable_rate) == (1, 1.0)
    shorter = measure([escalation], now=T0 + timedelta(days=2), defs=Definitions(durable_days=2))
    assert shorter.durable_rate == 1.0


def test_a_handoff_with_several_trigger_kinds_counts_under_each(store: Store) -> None:
    deliver(store, "1", triggers=[{"kind": "sentiment"}, {"kind": "high_value"}])
    deliver(store, "2", triggers=[{"kind": "sentiment"}])
    record(store, observed("1", "resolved", 10, resolution_seconds=600))
    grouped = by_dimension(escalations(store), "trigger", now=NOW)
    assert {key: m.escalations for key, m in grouped.items()} == {
        ("high_value",): 1,
        ("sentiment",): 2,
    }
    assert sum(m.escalations for m in grouped.values()) == 3  # more than the 2 handoffs


def test_grouping_by_route_and_week_uses_the_stored_route_and_created_at(store: Store) -> None:
    deliver(store, "1", created=T0)
    deliver(store, "2", created=T0 + timedelta(days=7))
    grouped = by_dimension(escalations(store), "route", now=NOW, period="week")
    assert list(grouped) == [("2026-W10", "vip"), ("2026-W11", "vip")]
    since = list(escalations(store, since=T0 + timedelta(days=1)))
    assert [e.handoff_id for e in since] == ["h-2"]


def test_an_unknown_dimension_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown dimension 'colour'; one of trigger, intent"):
        by_dimension([], "colour", now=NOW)


def test_rates_are_unknown_not_zero_without_a_denominator() -> None:
    result = measure([], now=NOW)
    assert (result.escalations, result.right_party_rate, result.quick_fix_rate) == (0, None, None)
    assert (result.csat_mean, result.durable_rate) == (None, None)


def test_a_stale_reopen_recorded_after_the_second_resolve_is_put_in_its_place(
    store: Store,
) -> None:
    """Sync brought the second resolve before a webhook brought the reopen between the two:
    by the platform's time there are two episodes, the second resolved."""
    deliver(store, "1")
    record(
        store,
        observed("1", "open", 0),
        observed("1", "resolved", 60, resolution_seconds=3600),
        observed("1", "resolved", 900, resolution_seconds=54_000, reopen_count=1),
        observed("1", "reopened", 600, reopen_count=1),
    )
    [escalation] = escalations(store)
    first, second = episodes(escalation.history)
    assert (first.resolved, second.resolved) == (True, True)
    assert second.started_at == T0 + timedelta(minutes=600)
    result = measure([escalation], now=NOW)
    assert (result.outcomes, result.durable_resolved, result.durable_judged) == (
        {"resolved": 1},
        1,
        2,
    )
