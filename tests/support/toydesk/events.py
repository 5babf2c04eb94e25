"""What ToyDesk sends Baton: signed webhooks and change pages, read into dispositions.

Verification: ``x-toydesk-signature`` = base64(HMAC-SHA256(secret, ``timestamp + "." + body``))
with ``x-toydesk-timestamp`` in unix seconds, within ±300 s of now. A webhook body is
``{"id": <event id>, "ticket": {...}, "occurred_at": <iso>}``, or several such events as
``{"events": [...]}``; a change page
(``GET /api/changes?after=<seq>``) is ``{"changes": [{"seq", "ticket"}], "after": <seq>}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from baton.core.disposition import Disposition, Outcome, Source
from baton.core.errors import PayloadError, VerificationError
from baton.core.handoff import is_handoff_id
from baton.core.signatures import check_timestamp, hmac_sha256_base64, signature_matches
from tests.support.toydesk import facts


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Ticket(_Body):
    """A ticket as webhooks and change pages carry it (what Baton reads of it)."""

    id: Annotated[int, Field(strict=True, ge=1)]
    external_id: str | None = None
    status: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    queue: Annotated[str, StringConstraints(max_length=256)] | None = None
    updated_at: AwareDatetime
    reopen_count: Annotated[int, Field(ge=0)] = 0
    transfer_count: Annotated[int, Field(ge=0)] = 0
    rating: str | None = None
    first_response_seconds: Annotated[int, Field(ge=0)] | None = None
    resolution_seconds: Annotated[int, Field(ge=0)] | None = None


class Event(_Body):
    """One webhook body."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    ticket: Ticket
    occurred_at: AwareDatetime


class Batch(_Body):
    """Several events in one webhook body."""

    events: Annotated[list[Event], Field(min_length=1, max_length=100)]


class Change(_Body):
    """One entry of the change feed."""

    seq: int
    ticket: Ticket


class ChangesPage(_Body):
    """One page of the change feed and the sequence number to continue after."""

    changes: list[Change]
    after: Annotated[int, Field(ge=0)]


def verify_signature(
    headers: Mapping[str, str], body: bytes, *, secret: str, now: datetime
) -> None:
    """Raise VerificationError unless ``secret`` signed ``body`` recently; nothing else leaves."""
    try:
        signature = _header(headers, facts.SIGNATURE_HEADER)
        timestamp = _header(headers, facts.TIMESTAMP_HEADER)
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise VerificationError(f"malformed {facts.TIMESTAMP_HEADER} header")
        message = timestamp.encode("ascii") + b"." + bytes(body)
        expected = hmac_sha256_base64(secret.encode("utf-8"), message)
        if not signature_matches([expected], signature):
            raise VerificationError("signature does not match")
        check_timestamp(datetime.fromtimestamp(int(timestamp), UTC), now)
    except VerificationError:
        raise
    except Exception:  # odd input reads as "not verified", never as a crash
        raise VerificationError("webhook could not be verified") from None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not isinstance(value, str) or not value.strip():
        raise VerificationError(f"missing {name} header")
    if len(value) > facts.MAX_HEADER_CHARS:
        raise VerificationError(f"malformed {name} header")
    return value.strip()


def read_events(body: bytes) -> list[Event]:
    """The events of a verified webhook body (one event, or a batch ``{"events": [...]}``);
    PayloadError (without any body text) when unreadable."""
    try:
        data = json.loads(bytes(body).decode("utf-8"))
        if isinstance(data, dict) and "events" in data:
            return list(Batch.model_validate(data).events)
        return [Event.model_validate(data)]
    except (UnicodeDecodeError, ValueError, RecursionError, pydantic.ValidationError):
        raise PayloadError("ToyDesk webhook body of an unknown shape") from None


def read_changes(data: Any) -> ChangesPage:
    """A change page's JSON; PayloadError when it is of another shape."""
    try:
        return ChangesPage.model_validate(data)
    except pydantic.ValidationError:
        raise PayloadError("ToyDesk change page of an unknown shape") from None


def ticket_disposition(
    ticket: Ticket,
    *,
    statuses: Mapping[str, Outcome],
    ticket_url: Callable[[str], str],
    source: Source,
    event_id: str | None = None,
) -> Disposition | None:
    """What ``ticket`` says happened; None for a status ``statuses`` does not know.

    Open or pending after a reopen (a move to another queue) is ``reopened``
    (``transferred``), so a webhook and a sync run that see one update agree.
    """
    outcome = statuses.get(ticket.status.casefold())
    if outcome is None:
        return None
    if outcome in ("open", "pending") and ticket.reopen_count:
        outcome = "reopened"
    elif outcome in ("open", "pending") and ticket.transfer_count:
        outcome = "transferred"
    external_id = ticket.external_id or ""
    ticket_id = str(ticket.id)
    try:
        return Disposition.model_validate(
            {
                "handoff_id": external_id if is_handoff_id(external_id) else None,
                "platform": facts.PLATFORM,
                "ticket_id": ticket_id,
                "ticket_url": ticket_url(ticket_id),
                "outcome": outcome,
                "raw_status": ticket.status,
                "group": ticket.queue,
                "occurred_at": ticket.updated_at,
                "first_response_seconds": ticket.first_response_seconds,
                "resolution_seconds": ticket.resolution_seconds,
                "reopen_count": ticket.reopen_count,
                "transfer_count": ticket.transfer_count,
                "csat": facts.CSAT_VALUES.get(ticket.rating or ""),
                "csat_raw": ticket.rating if ticket.rating in facts.CSAT_VALUES else None,
                "source": source,
                "event_id": event_id,
            }
        )
    except pydantic.ValidationError:
        raise PayloadError("ToyDesk ticket that makes no disposition") from None
