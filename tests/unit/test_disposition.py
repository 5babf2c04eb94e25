"""The current disposition is chosen by the platform's timestamp, never by arrival (D4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.disposition import Disposition, latest

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def observed(outcome: str, seconds: int) -> Disposition:
    return Disposition(
        platform="zendesk",
        ticket_id="42",
        outcome=outcome,  # type: ignore[arg-type]
        occurred_at=T0 + timedelta(seconds=seconds),
        source="webhook",
    )


def test_d4_a_stale_observation_recorded_last_does_not_roll_back() -> None:
    history = [observed("open", 0), observed("resolved", 60), observed("pending", 30)]
    current = latest(history)
    assert current is not None
    assert current.outcome == "resolved"


def test_same_second_tie_goes_to_the_later_recorded() -> None:
    current = latest([observed("open", 0), observed("resolved", 0)])
    assert current is not None
    assert current.outcome == "resolved"


def test_no_history_has_no_current_state() -> None:
    assert latest([]) is None
