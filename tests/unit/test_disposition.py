"""The current disposition is chosen by the platform's timestamp, never by arrival (D4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pydantic
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from baton.core.disposition import Disposition, latest
from baton.core.storable import is_storable, storable

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


# --- K5: no Disposition holds text the store cannot hold ----------------------------------

UNSTORABLE_CHAR = st.one_of(st.just("\x00"), st.characters(categories=["Cs"]))
ANY_TEXT = st.text(st.one_of(st.characters(), UNSTORABLE_CHAR), min_size=1, max_size=64)
REPAIRED_FIELDS = (
    "ticket_id",
    "ticket_url",
    "raw_status",
    "assignee",
    "group",
    "csat_raw",
    "event_id",
)


@given(field=st.sampled_from(REPAIRED_FIELDS), text=ANY_TEXT)
@example(field="ticket_id", text="4\x002")
@example(field="event_id", text="\ud800")
def test_k5_every_text_field_is_repaired_on_validation(field: str, text: str) -> None:
    """K5: platform text with a NUL or a lone surrogate is kept, repaired (U+FFFD), in every
    text field, keys included; ordinary text is kept as it is."""
    made = Disposition.model_validate({**observed("open", 0).model_dump(), field: text})
    assert getattr(made, field) == storable(text)
    assert is_storable(getattr(made, field))


@given(field=st.sampled_from(REPAIRED_FIELDS), text=ANY_TEXT)
def test_k5_model_copy_with_an_update_repairs_it_too(field: str, text: str) -> None:
    """K5: pydantic does not validate ``model_copy(update=…)``; a Disposition repairs the
    update's text anyway, so no copy holds unstorable text either."""
    copied = observed("open", 0).model_copy(update={field: text})
    assert getattr(copied, field) == storable(text)


@given(field=st.sampled_from(REPAIRED_FIELDS), text=ANY_TEXT)
def test_k5_the_stored_json_reads_back_to_the_same_disposition(field: str, text: str) -> None:
    """K5: the repaired Disposition's JSON (what the store keeps) validates back to it."""
    made = Disposition.model_validate({**observed("open", 0).model_dump(), field: text})
    assert Disposition.model_validate_json(made.model_dump_json()) == made


@pytest.mark.parametrize("bad", ["h\x001", "h-\ud800", "h-1\n"])
def test_k5_a_handoff_id_that_is_not_one_is_refused_not_repaired(bad: str) -> None:
    """K5: ``handoff_id`` is a reference, not platform text: its pattern refuses it."""
    with pytest.raises(pydantic.ValidationError):
        Disposition.model_validate({**observed("open", 0).model_dump(), "handoff_id": bad})


def test_k5_repair_does_not_loosen_strict_types() -> None:
    """The repair only touches text: a number where text belongs is still refused."""
    with pytest.raises(pydantic.ValidationError):
        Disposition.model_validate({**observed("open", 0).model_dump(), "ticket_id": 42})
