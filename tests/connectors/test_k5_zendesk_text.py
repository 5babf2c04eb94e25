"""The Zendesk connector's texts and RELIABILITY K5.

An external id is Baton's handoff id only when the whole of it matches the pattern: with
``re.match`` a trailing newline passed, and the Disposition then refused the id, so a signed
webhook was quarantined and a sync row lost for a ticket that simply is not Baton's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from baton.connectors.zendesk.events import EventReader, handoff_id_or_none
from baton.connectors.zendesk.sync import sync_disposition
from baton.core.errors import PayloadError

NOT_HANDOFF_IDS = ["h-1\n", "h-1\x00", "h\ud800", "", "h 1"]


@pytest.mark.parametrize("external_id", NOT_HANDOFF_IDS)
def test_k5_an_external_id_that_is_not_wholly_a_handoff_id_is_none(external_id: str) -> None:
    assert handoff_id_or_none(external_id) is None


def test_a_handoff_id_is_kept() -> None:
    assert handoff_id_or_none("h-1") == "h-1"


def _trigger_body(external_id: str) -> bytes:
    body = {
        "ticket_id": "42",
        "status": "solved",
        "external_id": external_id,
        "updated_at": "2026-03-01T12:00:00Z",
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize("external_id", [i for i in NOT_HANDOFF_IDS if i != "h\ud800"])
def test_k5_a_webhook_with_a_foreign_external_id_is_read_not_refused(external_id: str) -> None:
    """The trigger webhook of a ticket whose external id is not a handoff id is read, with no
    handoff id, rather than refused as unreadable."""
    reader = EventReader({}, lambda ticket_id: None)

    (event,) = reader.parse(_trigger_body(external_id))

    assert event.disposition is not None
    assert event.disposition.handoff_id is None


def test_k5_a_lone_surrogate_in_webhook_text_is_a_payload_error_never_a_crash() -> None:
    """pydantic refuses a lone surrogate as a string, so such a webhook body is unreadable:
    a PayloadError naming the field (the receiver quarantines it and answers 400)."""
    reader = EventReader({}, lambda ticket_id: None)

    with pytest.raises(PayloadError, match="external_id"):
        reader.parse(_trigger_body("h\ud800"))


@pytest.mark.parametrize("external_id", NOT_HANDOFF_IDS)
def test_k5_a_synced_ticket_with_a_foreign_external_id_keeps_its_disposition(
    external_id: str,
) -> None:
    ticket = {
        "id": 42,
        "status": "solved",
        "external_id": external_id,
        "updated_at": datetime(2026, 3, 1, 12, tzinfo=UTC).isoformat(),
    }

    disposition = sync_disposition(
        ticket, statuses={"solved": "resolved"}, ticket_url=lambda _id: None, metrics=None
    )

    assert disposition is not None
    assert disposition.handoff_id is None
