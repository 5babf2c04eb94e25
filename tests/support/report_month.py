"""A realistic month in a store, for the report page's browser test and its screenshot in docs/.

About 170 handoffs over five ISO weeks on the shipped Zendesk mapping's routes, each route with
its own habits (VIP billing is quick and well rated, account security is transferred a lot,
product defects reopen and take days), the dispositions Zendesk would send, values at stake,
and the agent's daily conversation volume. Seeded: the same store every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from baton.core.disposition import Disposition
from baton.core.learning.assemble import MappingFacts, stored_report
from baton.core.learning.report import Report
from baton.core.store import Store
from baton.core.volume import VolumeFigure, record_volume
from tests.support.builders import make_handoff
from tests.support.paths import MAPPINGS

NOW = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
START = datetime(2026, 10, 26, 0, 0, tzinfo=UTC)  # a Monday: five ISO weeks W44–W48
HOUR = 3600


@dataclass(frozen=True)
class Habit:
    """How one routing rule's tickets tend to go."""

    route: str
    group: str
    intents: tuple[str, ...]
    triggers: tuple[str, ...]
    share: float  # of all handoffs
    resolution_hours: float  # typical (median) time to resolution
    transferred: float  # chance of a transfer before resolving
    reopened: float  # chance of a reopen after resolving
    csat: float  # mean normalised score of those who rate
    tier: str | None = None
    language: str = "en"
    value: str | None = None  # the fact carrying the value at stake


HABITS = (
    Habit("VIP billing", "VIP Billing", ("billing.refund_dispute", "billing.charge"),
          ("high_value", "sentiment"), 0.14, 2.5, 0.03, 0.04, 0.88, tier="vip",
          value="order_total_usd"),
    Habit("Billing", "Billing", ("billing.refund", "billing.invoice"),
          ("explicit_request", "policy"), 0.22, 6, 0.08, 0.06, 0.78, value="order_total_usd"),
    Habit("Regulated complaints", "Compliance & Complaints", ("complaint.formal",),
          ("regulatory", "sentiment"), 0.07, 40, 0.1, 0.05, 0.55),
    Habit("Identity and account takeover risk", "Account Security", ("account.access",),
          ("authentication", "risk"), 0.12, 5, 0.38, 0.08, 0.62),
    Habit("Cancellation risk on valuable accounts", "Retention", ("account.cancel",),
          ("sentiment", "explicit_request"), 0.1, 20, 0.12, 0.1, 0.42, tier="enterprise",
          value="arr_usd"),
    Habit("Product defects", "Technical Support L2", ("product.bug",),
          ("complexity", "repeated_failure"), 0.13, 70, 0.15, 0.3, 0.58),
    Habit("Spanish-speaking customers", "Soporte en Español", ("order.status", "billing.refund"),
          ("explicit_request",), 0.07, 4, 0.05, 0.05, 0.8, language="es"),
    Habit("default", "Tier 1 Support", ("order.status", "other"),
          ("low_confidence", "explicit_request"), 0.15, 0.8, 0.12, 0.05, 0.74),
)  # fmt: skip


def _seen(ticket: str, outcome: str, at: datetime, **fields: Any) -> Disposition:
    return Disposition(
        handoff_id=f"h-{ticket}",
        platform="zendesk",
        ticket_id=ticket,
        outcome=outcome,  # type: ignore[arg-type]
        occurred_at=at,
        source="webhook",
        **fields,
    )


def _history(ticket: str, habit: Habit, created: datetime, dice: random.Random) -> list[Any]:
    """What Zendesk reported about one ticket up to NOW."""
    first = dice.lognormvariate(0, 0.8) * (600 if habit.tier else 1500)
    seen = [_seen(ticket, "open", created + timedelta(seconds=first), group=habit.group,
                  first_response_seconds=int(first))]  # fmt: skip
    fate = dice.random()
    if fate < 0.03:
        return [*seen, _seen(ticket, "deleted" if fate < 0.015 else "merged", created + 2 * (
            timedelta(seconds=first)))]  # fmt: skip
    transfers = 1 if dice.random() < habit.transferred else 0
    if transfers:
        at = created + timedelta(seconds=first * 2)
        seen.append(_seen(ticket, "transferred", at, group=habit.group, transfer_count=1))
    hours = dice.lognormvariate(0, 0.9) * habit.resolution_hours
    resolved_at = created + timedelta(hours=hours)
    if resolved_at > NOW or dice.random() < 0.06:
        late = min(NOW, created + timedelta(hours=hours / 3))
        outcome = "pending" if dice.random() < 0.5 else "open"
        return [*seen, _seen(ticket, outcome, late, group=habit.group, transfer_count=transfers)]
    replies = 1 if hours < 1 and dice.random() < 0.8 else dice.randint(2, 5)
    rating = None
    if dice.random() < 0.45:
        good = dice.random() < habit.csat
        rating = dice.choice((1.0, 0.75, 0.75) if good else (0.0, 0.25, 0.25))
    seen.append(_seen(ticket, "resolved", resolved_at, group=habit.group,
                      resolution_seconds=int(hours * HOUR), public_replies=replies,
                      transfer_count=transfers, csat=rating))  # fmt: skip
    reopened_at = resolved_at + timedelta(days=dice.uniform(0.5, 5))
    if dice.random() < habit.reopened and reopened_at < NOW:
        seen.append(_seen(ticket, "reopened", reopened_at, group=habit.group, reopen_count=1,
                          transfer_count=transfers))  # fmt: skip
        again = reopened_at + timedelta(hours=hours)
        if again < NOW:
            seen.append(_seen(ticket, "resolved", again, group=habit.group, reopen_count=1,
                              resolution_seconds=int(hours * 2 * HOUR), public_replies=replies + 2,
                              transfer_count=transfers))  # fmt: skip
    return seen


def fill_month(store: Store, *, seed: int = 48, per_day: float = 5.5) -> int:
    """Store a month of handoffs, their tickets and dispositions, and the agent's volume; the
    number of handoffs stored."""
    dice = random.Random(seed)
    days = (NOW - START).days + 1
    count = 0
    for day in range(days):
        weekday = (START + timedelta(days=day)).weekday()
        todays = max(1, round(dice.gauss(per_day * (0.55 if weekday >= 5 else 1.1), 1.4)))
        for _ in range(todays):
            created = START + timedelta(days=day, seconds=dice.uniform(7, 21) * HOUR)
            if created >= NOW:
                continue
            count += 1
            _deliver(store, str(count), created, dice)
        record_volume(store, [_volume(START.date() + timedelta(days=day), todays, dice)])
    return count


def _volume(day: date, escalated: int, dice: random.Random) -> VolumeFigure:
    return VolumeFigure(date=day, conversations=escalated + round(dice.uniform(38, 52)))


def _deliver(store: Store, ticket: str, created: datetime, dice: random.Random) -> None:
    habit = dice.choices(HABITS, weights=[h.share for h in HABITS])[0]
    kinds = habit.triggers[: 1 + (dice.random() < 0.4)]
    facts: dict[str, Any] = {}
    if habit.value:
        facts[habit.value] = round(dice.lognormvariate(5.5, 0.9), 2)
    handoff = make_handoff(
        f"h-{ticket}",
        created_at=created.isoformat(),
        intent=dice.choice(habit.intents),
        triggers=[{"kind": kind} for kind in kinds],
        channel="chat" if dice.random() < 0.7 else "email",
        language=habit.language,
        customer={"id": f"c-{ticket}", "tier": habit.tier} if habit.tier else {"id": f"c-{ticket}"},
        facts=facts,
    )
    store.add_handoff(handoff, "zendesk")
    [claim] = store.claim_deliveries("month", limit=1)
    store.complete_delivery(
        claim.delivery_id,
        "month",
        ticket_id=ticket,
        ticket_url=None,
        route=habit.route,
        target=habit.group,
    )
    for item in _history(ticket, habit, created, dice):
        store.add_disposition(item)


def month_report(store: Store) -> Report:
    """The learning report over the filled store, as ``baton report --html`` builds it."""
    return stored_report(
        store,
        MappingFacts.load(MAPPINGS),
        now=NOW,
        dimensions=("trigger", "intent", "route", "group"),
    )
