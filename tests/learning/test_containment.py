"""Containment and the value at stake: worked by hand, generated for every input, and read back
through the store (figures and handoffs) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.core.errors import ConfigError
from baton.core.learning import Escalation, measure
from baton.core.learning.assemble import MappingFacts, stored_report
from baton.core.learning.containment import containment
from baton.core.learning.stakes import stake_of, stakes_in
from baton.core.mapping.spec import ValueAtStake
from baton.core.store import Store
from baton.core.volume import VolumeFigure, record_volume, volume_between
from tests.learning.test_metrics import T0, deliver, observed, record
from tests.support.paths import MAPPINGS

NOW = T0 + timedelta(days=30)
DAY = T0.date()  # 2026-03-02, a Monday


def _escalation(n: int, created: datetime, channel: str = "chat") -> Escalation:
    return Escalation(
        handoff_id=f"h-{n}",
        created_at=created,
        platform="zendesk",
        intent="billing.refund",
        trigger_kinds=("customer_request",),
        channel=channel,
        language=None,
        tier=None,
        priority="normal",
    )


def _figure(day: date, conversations: int, channel: str | None = None) -> VolumeFigure:
    return VolumeFigure.model_validate(
        {"date": day.isoformat(), "channel": channel, "conversations": conversations}
    )


def test_containment_counts_only_days_with_a_figure_on_both_sides() -> None:
    # Day 1: 100 conversations (all channels), 4 escalations → 96 %.
    # Day 2: only per-channel figures, chat 30 + email 10 = 40; 2 chat and 2 email escalations.
    # Day 3: no figure: its 5 escalations count nowhere.
    day1, day2, day3 = DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)
    at = [datetime(d.year, d.month, d.day, 12, tzinfo=UTC) for d in (day1, day2, day3)]
    found = [_escalation(i, at[0]) for i in range(4)]
    found += [_escalation(10 + i, at[1], "chat") for i in range(2)]
    found += [_escalation(20 + i, at[1], "email") for i in range(2)]
    found += [_escalation(30 + i, at[2]) for i in range(5)]
    volume = [_figure(day1, 100), _figure(day2, 30, "chat"), _figure(day2, 10, "email")]

    overall, trend = containment(found, volume)

    everything, chat, email = overall
    # (100 + 40) conversations, 4 + 4 escalations: 1 - 8/140
    assert (everything.channel, everything.days, everything.conversations) == (None, 2, 140)
    assert everything.escalations == 8
    assert everything.rate == pytest.approx(1 - 8 / 140)
    assert (chat.channel, chat.conversations, chat.escalations) == ("chat", 30, 2)
    assert chat.rate == pytest.approx(1 - 2 / 30)
    assert (email.channel, email.escalations, email.rate) == ("email", 2, pytest.approx(0.8))
    [week] = trend  # all three days are in ISO week 2026-W10
    assert (week.period, week.conversations, week.escalations) == ("2026-W10", 140, 8)


def test_without_volume_containment_is_unknown_never_100_percent() -> None:
    overall, trend = containment([_escalation(1, T0)], [])
    [everything] = overall
    assert (everything.rate, everything.conversations, everything.days) == (None, 0, 0)
    assert trend == []


def test_a_figure_over_all_channels_wins_over_the_sum_of_the_channels() -> None:
    volume = [_figure(DAY, 50, "chat"), _figure(DAY, 200), _figure(DAY, 20, "email")]
    overall, _ = containment([_escalation(1, T0)], volume)
    assert overall[0].conversations == 200


@given(
    st.dictionaries(
        st.integers(0, 20),
        st.tuples(st.integers(0, 500), st.integers(0, 30)),  # (conversations, escalations)
        max_size=15,
    ),
    st.integers(0, 10),
)
def test_containment_for_any_figures(days: dict[int, tuple[int, int]], unreported: int) -> None:
    """Whatever the figures: conversations are their sum, escalations those of reported days
    only, and the rate is 1 − escalations ÷ conversations (None for no conversations)."""
    found: list[Escalation] = []
    volume: list[VolumeFigure] = []
    for offset, (conversations, escalated) in days.items():
        day = DAY + timedelta(days=offset)
        volume.append(_figure(day, conversations))
        moment = datetime(day.year, day.month, day.day, 23, 59, tzinfo=UTC)
        found += [_escalation(offset * 100 + i, moment) for i in range(escalated)]
    found += [_escalation(10_000 + i, T0 - timedelta(days=1)) for i in range(unreported)]
    [everything] = containment(found, volume)[0]
    conversations = sum(c for c, _ in days.values())
    escalations = sum(e for _, e in days.values())
    assert (everything.conversations, everything.escalations) == (conversations, escalations)
    expected = None if conversations == 0 else 1 - escalations / conversations
    assert everything.rate == (pytest.approx(expected) if expected is not None else None)


STAKE = ValueAtStake(fact=["arr_usd", "order_total"], unit="USD")


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"arr_usd": 148_000}, 148_000.0),
        ({"order_total": "59.29"}, 59.29),
        ({"arr_usd": "USD 148,000", "order_total": 12.5}, 12.5),  # the first that is a number
        ({"arr_usd": True}, None),  # a flag is not an amount
        ({"arr_usd": "nan"}, None),
        ({"other": 3}, None),
    ],
)
def test_the_value_is_the_first_named_fact_that_holds_a_number(
    facts: dict[str, object], expected: float | None
) -> None:
    assert stake_of(facts, STAKE) == expected


def test_value_at_stake_is_summed_per_outcome_over_the_handoffs_that_carry_it() -> None:
    def with_value(n: int, value: float | None, outcome: str) -> Escalation:
        base = _escalation(n, T0)
        history = (observed(str(n), outcome, 10),)
        return Escalation(**{**base.__dict__, "value": value, "history": history})

    group = [
        with_value(1, 1000, "transferred"),
        with_value(2, 250.5, "transferred"),
        with_value(3, 40, "resolved"),
        with_value(4, None, "resolved"),
    ]
    metrics = measure(group, now=NOW)
    assert (metrics.value, metrics.value_carried) == (pytest.approx(1290.5), 3)
    assert metrics.value_by_outcome == {"resolved": 40, "transferred": pytest.approx(1250.5)}
    assert measure(group[3:], now=NOW).value is None


def test_two_mappings_summing_different_units_are_refused(tmp_path: Path) -> None:
    for name in ("zendesk", "hubspot"):
        text = (MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8")
        unit = "EUR" if name == "hubspot" else "USD"
        (tmp_path / f"{name}.yaml").write_text(text.replace("unit: USD", f"unit: {unit}"))
    for folder in ("catalogs", "templates"):
        (tmp_path / folder).symlink_to(MAPPINGS / folder)
    with pytest.raises(ConfigError, match=r"value_at_stake\.unit") as caught:
        stakes_in(tmp_path)
    assert "hubspot.yaml says EUR" in str(caught.value)


def test_volume_is_idempotent_per_date_and_channel(store: Store) -> None:
    first = record_volume(store, [_figure(DAY, 100), _figure(DAY, 60, "chat")])
    assert [w.written for w in first] == ["created", "created"]
    again = record_volume(store, [_figure(DAY, 100), _figure(DAY, 70, "chat")])
    assert [w.written for w in again] == ["unchanged", "replaced"]
    stored = volume_between(store, DAY, DAY)
    assert sorted((f.channel or "", f.conversations) for f in stored) == [("", 100), ("chat", 70)]
    assert volume_between(store, DAY + timedelta(days=1), None) == []


def test_the_stored_report_reads_volume_and_value_from_the_store(store: Store) -> None:
    for n, facts in ((1, {"arr_usd": 5000}), (2, {}), (3, {"order_total_usd": 20})):
        deliver(store, str(n), facts=facts)
    record(store, observed("1", "transferred", 5), observed("3", "resolved", 9))
    record_volume(store, [_figure(DAY, 30), _figure(DAY + timedelta(days=40), 999)])

    report = stored_report(
        store, MappingFacts.load(MAPPINGS), now=NOW, since=T0, until=T0 + timedelta(days=7)
    )

    everything = report.containment[0]
    assert (everything.conversations, everything.escalations) == (30, 3)  # the 999 is out of range
    assert everything.rate == pytest.approx(0.9)
    assert report.value_unit == "USD"
    assert report.total.value_by_outcome == {"transferred": 5000, "resolved": 20}
    assert Counter(report.total.outcomes) == Counter(
        {"transferred": 1, "resolved": 1, "unobserved": 1}
    )
