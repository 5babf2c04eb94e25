"""RELIABILITY K5: input the store cannot hold (a NUL, a lone surrogate) is a 4xx — for a
verified webhook a quarantined event answered 400, which senders do not retry — never a 5xx,
on SQLite and PostgreSQL alike.

Every test here runs on both backends (``db_harness`` / ``store``). Texts are generated with
hypothesis from any code point, NUL and lone surrogates included; ordinary text is part of the
same draw, so the tests also show that ordinary ids keep working.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import DataError, OperationalError

from baton.core.disposition import Disposition
from baton.core.errors import PayloadError
from baton.core.handoff import validate_handoff
from baton.core.inbox import InboxProcessor
from baton.core.mapping import load_mapping
from baton.core.ports import WebhookEvent
from baton.core.storable import is_storable, storable, unstorable_reason
from baton.core.tables import DispositionRow, InboundEventRow, QuarantineRow
from tests.support.paths import MAPPINGS

EXAMPLES = 50  # per backend; PostgreSQL round trips keep this modest
K5_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

UNSTORABLE_CHAR = st.one_of(st.just("\x00"), st.characters(categories=["Cs"]))
ANY_CHAR = st.one_of(st.characters(), UNSTORABLE_CHAR)
UNSTORABLE_TEXT = st.tuples(
    st.text(ANY_CHAR, max_size=30), UNSTORABLE_CHAR, st.text(ANY_CHAR, max_size=30)
).map("".join)
# Ordinary, unstorable and mixed text in one draw.
ANY_TEXT = st.one_of(st.text(ANY_CHAR, min_size=1, max_size=60), UNSTORABLE_TEXT)

REASONS = {unstorable_reason("\x00"), unstorable_reason("\ud800")}
HANDOFF_ID = "h-k5"


def _percent_encoded(text: str) -> str:
    """Every UTF-8 byte percent-encoded (a lone surrogate as its 3 ill-formed bytes), so that
    neither the client nor the server normalizes the path before routing."""
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8", "surrogatepass"))


def _as_read(text: str) -> str:
    """``text`` as a source reads it back out of a JSON body: an escaped surrogate pair
    (two lone code points in a Python str) becomes the one character it encodes."""
    read: str = json.loads(json.dumps(text))
    return read


def _counts(harness: Any) -> tuple[int, int]:
    counts = harness.store.table_counts()
    return counts["inbound_events"], counts["quarantine"]


def _last_quarantined(harness: Any) -> QuarantineRow:
    with harness.store.reading() as session:
        row = session.scalars(select(QuarantineRow).order_by(QuarantineRow.id.desc())).first()
        assert row is not None
        session.expunge(row)
        return row


def _unique() -> str:
    return uuid.uuid4().hex


# --- GET /v1/handoffs/{handoff_id} --------------------------------------------------------


@K5_SETTINGS
@given(text=ANY_TEXT)
@example(text=HANDOFF_ID)
@example(text="a\x00b")
@example(text="\ud800")
@example(text="..")
@example(text="/")
def test_k5_any_handoff_id_in_the_path_is_200_or_404_never_5xx(
    db_harness: Any, handoff_doc: Any, text: str
) -> None:
    """K5: whatever text is in the path (NUL, lone surrogate, '/', '..'), the answer is 200
    for the one stored handoff and a final 4xx for anything else — never 5xx — on both
    databases."""
    if db_harness.store.table_counts()["handoffs"] == 0:
        db_harness.store.add_handoff(validate_handoff(handoff_doc(HANDOFF_ID)), "zendesk")

    response = db_harness.client.get(
        f"/v1/handoffs/{_percent_encoded(text)}", headers=db_harness.auth
    )

    # A '/' decodes into the path itself, so the router may answer 405 for a route of
    # another method: still a final 4xx.
    expected = {200} if text == HANDOFF_ID else {404, 405} if "/" in text else {404}
    assert response.status_code in expected, response.text
    if response.status_code == 404:
        assert response.json() == {"error": "not_found"}


@K5_SETTINGS
@given(text=UNSTORABLE_TEXT)
@example(text="a\x00b")
def test_k5_an_id_no_handoff_can_have_is_404_without_touching_the_store(
    db_harness: Any, outage: Callable[[Any], Any], text: str
) -> None:
    """K5: an id that does not match the handoff id pattern is answered 404 even while the
    database is unreachable — so it never reached the store — while a well-formed id in the
    same outage is 503 (the outage is real)."""
    down = outage(db_harness.store)
    down.begin()
    try:
        refused = db_harness.client.get(
            f"/v1/handoffs/{_percent_encoded(text)}", headers=db_harness.auth
        )
        well_formed = db_harness.client.get("/v1/handoffs/h-1", headers=db_harness.auth)
    finally:
        down.end()

    assert refused.status_code == 404
    assert well_formed.status_code == 503


def test_k5_an_unauthenticated_get_is_401_whatever_the_id(db_harness: Any) -> None:
    """K5 does not weaken authentication: without the key even an impossible id is 401."""
    response = db_harness.client.get("/v1/handoffs/a%00b")
    assert response.status_code == 401


# --- POST /webhooks/{platform}: the event id ------------------------------------------------


@K5_SETTINGS
@given(text=ANY_TEXT)
@example(text="evt\x00")
@example(text="evt-\ud83d")
@example(text="evt-ordinary")
@example(text="\ud800\udc00")
def test_k5_a_signed_webhook_whose_event_id_cannot_be_stored_is_quarantined_and_answered_400(
    db_harness: Any, zendesk_event: Callable[..., bytes], text: str
) -> None:
    """K5: a verified webhook whose event id holds a NUL or a lone surrogate is quarantined
    (bytes kept, quarantine +1, inbox unchanged) and answered 400, never 5xx; a storable id is
    recorded (inbox +1) and answered 200 — on both databases. The reason names the field and
    never quotes the payload."""
    event_id = f"{text}:{_unique()}"
    body = zendesk_event(event_id)
    inbox_before, quarantine_before = _counts(db_harness)

    response = db_harness.post_event(body)

    if is_storable(_as_read(event_id)):
        assert response.status_code == 200, response.text
        assert response.json() == {"received": 1, "duplicates": 0}
        assert _counts(db_harness) == (inbox_before + 1, quarantine_before)
        return
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "payload_error"}
    assert _counts(db_harness) == (inbox_before, quarantine_before + 1)
    row = _last_quarantined(db_harness)
    assert row.body == body
    assert row.reason.removeprefix("PayloadError: event id ") in REASONS


@K5_SETTINGS
@given(text=ANY_TEXT)
@example(text="4\x002")
@example(text="\udfff")
@example(text="\ud800\udc00")
def test_k5_unstorable_disposition_text_is_repaired_recorded_and_processed(
    db_harness: Any, zendesk_event: Callable[..., bytes], text: str
) -> None:
    """K5: text of an event's disposition (here the ticket id) with a NUL or a lone surrogate
    does not lose the platform's record: the Disposition repairs it (U+FFFD), the event is
    recorded (200, quarantine unchanged) and processed into a stored disposition holding the
    repaired text — on both databases."""
    ticket_id = text[:64]
    event_id = f"evt-{_unique()}"
    inbox_before, quarantine_before = _counts(db_harness)

    response = db_harness.post_event(zendesk_event(event_id, ticket_id=ticket_id))

    assert response.status_code == 200, response.text
    assert _counts(db_harness) == (inbox_before + 1, quarantine_before)
    assert db_harness.inbox.drain() == 1
    with db_harness.store.reading() as session:
        state = session.scalars(
            select(InboundEventRow.state).where(InboundEventRow.event_id == event_id)
        ).one()
        stored = session.scalars(
            select(DispositionRow.ticket_id).where(DispositionRow.event_id == event_id)
        ).one()
    assert state == "processed"
    assert stored == storable(_as_read(ticket_id))


@pytest.fixture
def zendesk_harness(make_harness: Callable[..., Any], store: Any, known: Any) -> Iterator[Any]:
    """A harness on each backend whose webhook source is the real Zendesk connector."""
    zendesk = pytest.importorskip("baton.connectors.zendesk.connector")
    env = {
        "BATON_ZENDESK_SUBDOMAIN": "baton-k5",
        "BATON_ZENDESK_EMAIL": "baton@example.com",
        "BATON_ZENDESK_TOKEN": "k5-token",
        "BATON_ZENDESK_WEBHOOK_SECRETS": known.SECRET,
    }
    connector = zendesk.ZendeskConnector.from_env(load_mapping(MAPPINGS, "zendesk"), env)
    try:
        yield make_harness(store, source=connector)
    finally:
        connector.close()


def _event_body(event_id: str, ticket_id: str) -> bytes:
    doc = {
        "type": "zen:event-type:ticket.status_changed",
        "id": event_id,
        "time": datetime.now(UTC).isoformat(),
        "subject": f"zen:ticket:{ticket_id}",
        "detail": {"id": ticket_id, "status": "SOLVED", "updated_at": "2026-03-01T12:00:00Z"},
        "event": {"current": "SOLVED", "previous": "OPEN"},
    }
    return json.dumps(doc).encode()


def _trigger_body(update_stamp: str, ticket_id: str) -> bytes:
    doc = {
        "ticket_id": ticket_id,
        "status": "Solved",
        "updated_at": "2026-03-01T12:00:00Z",
        "update_stamp": update_stamp,
    }
    return json.dumps(doc).encode()


@K5_SETTINGS
@given(text=ANY_TEXT, shape=st.sampled_from(["event", "trigger"]))
@example(text="stamp\x00", shape="trigger")
@example(text="\ud800", shape="event")
def test_k5_the_real_zendesk_connector_quarantines_an_unstorable_event_id(
    zendesk_harness: Any, text: str, shape: str
) -> None:
    """K5 through the real connector: the event id of an event webhook (``id``) or of a
    trigger webhook (``update_stamp``) with a NUL or a lone surrogate is quarantined and
    answered 400 with a reason that quotes nothing; a storable one is recorded (200) — never
    5xx, on both databases."""
    event_id = f"{text}:{_unique()}"
    ticket_id = str(uuid.uuid4().int % 10**12)
    build = _event_body if shape == "event" else _trigger_body
    body = build(event_id, ticket_id)
    inbox_before, quarantine_before = _counts(zendesk_harness)

    response = zendesk_harness.post_event(body)

    if is_storable(_as_read(event_id)):
        assert response.status_code == 200, response.text
        assert _counts(zendesk_harness) == (inbox_before + 1, quarantine_before)
    else:
        assert response.status_code == 400, response.text
        assert _counts(zendesk_harness) == (inbox_before, quarantine_before + 1)
        # Ours names the field; pydantic refuses a lone surrogate as a string by itself.
        reason = _last_quarantined(zendesk_harness).reason
        assert reason.removeprefix("PayloadError: event id ") in REASONS or reason in {
            "PayloadError: Zendesk webhook body: missing or invalid id",
            "PayloadError: Zendesk webhook body: missing or invalid update_stamp",
        }


# --- header values and the platform path parameter ----------------------------------------

# Header values reach the app as latin-1; CR and LF cannot be in one.
HEADER_VALUE = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@K5_SETTINGS
@given(value=HEADER_VALUE, which=st.sampled_from(["signature", "timestamp", "other"]))
@example(value=b"\x00", which="signature")
@example(value=b"2026-03-01T12:00:00Z\x00", which="timestamp")
@example(value=b"a\x00\xff", which="other")
def test_k5_header_values_never_reach_the_store_and_never_give_a_5xx(
    db_harness: Any,
    zendesk_event: Callable[..., bytes],
    signer: Callable[..., dict[str, str]],
    value: bytes,
    which: str,
) -> None:
    """K5 for headers: a NUL (or any byte) in the signature or timestamp header is 401 with
    every table unchanged; in any other header of a correctly signed webhook it changes
    nothing (200, recorded) — headers go to the verifier only, never to the store."""
    body = zendesk_event(f"evt-{_unique()}")
    headers: dict[str, Any] = dict(signer(body))
    if which == "signature":
        headers["X-Zendesk-Webhook-Signature"] = value
    elif which == "timestamp":
        headers["X-Zendesk-Webhook-Signature-Timestamp"] = value
    else:
        headers["X-K5-Other"] = value
    before = db_harness.store.table_counts()

    response = db_harness.client.post("/webhooks/zendesk", content=body, headers=headers)

    if which == "other":
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 401
    assert db_harness.store.table_counts() == before


@K5_SETTINGS
@given(text=ANY_TEXT)
@example(text="zendesk\x00")
def test_k5_any_webhook_platform_in_the_path_other_than_a_source_is_404(
    db_harness: Any,
    zendesk_event: Callable[..., bytes],
    signer: Callable[..., dict[str, str]],
    text: str,
) -> None:
    """K5 for ``/webhooks/{platform}``: a platform that is not a configured source (NUL and
    lone surrogates included) is 404 with nothing stored; only a source's name reaches the
    store."""
    body = zendesk_event(f"evt-{_unique()}")
    before = db_harness.store.table_counts()

    response = db_harness.client.post(
        f"/webhooks/{_percent_encoded(text)}", content=body, headers=signer(body)
    )

    if text == "zendesk":
        assert response.status_code == 200
        return
    assert response.status_code == 404
    assert db_harness.store.table_counts() == before


# --- what the database refuses all the same; what the source says ----------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DataError("INSERT …", {}, Exception("text fields cannot contain NUL")), 400),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), 400),
        (OperationalError("INSERT …", {}, Exception("connection refused")), 503),
    ],
    ids=["data_error", "unicode_error", "unreachable"],
)
def test_k5_a_value_the_database_refuses_is_quarantined_and_only_an_outage_is_503(
    db_harness: Any,
    zendesk_event: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
) -> None:
    """K5 safety net: should the database refuse an event the checks let through (a
    DataError, text the driver cannot encode), the body is quarantined and answered 400;
    only an unreachable store is 503 (K2)."""

    def refuse(*_args: Any) -> bool:
        raise error

    monkeypatch.setattr(db_harness.store, "record_inbound_events", refuse)
    _, quarantine_before = _counts(db_harness)

    response = db_harness.post_event(zendesk_event(f"evt-{_unique()}"))

    assert response.status_code == status
    if status == 503:
        assert response.headers["Retry-After"]
        assert _counts(db_harness)[1] == quarantine_before
    else:
        assert response.json() == {"error": "payload_error"}
        assert _counts(db_harness)[1] == quarantine_before + 1
        assert _last_quarantined(db_harness).reason == (
            f"the store refused an event ({type(error).__name__})"
        )


class _SayingSource:
    """A fake Zendesk source whose parse_webhook fails with a given message."""

    def __init__(self, base: Any, message: str) -> None:
        self._base = base
        self.message = message
        self.platform = "zendesk"

    def verify_webhook(self, *args: Any, **kwargs: Any) -> None:
        self._base.verify_webhook(*args, **kwargs)

    def parse_webhook(self, _body: bytes) -> list[WebhookEvent]:
        raise PayloadError(self.message)

    def acknowledge(self, received: int, duplicates: int) -> None:
        return None


@K5_SETTINGS
@given(message=ANY_TEXT)
@example(message="bad \x00 field")
def test_k5_a_source_error_that_cannot_be_stored_still_quarantines_with_a_storable_reason(
    make_harness: Callable[..., Any],
    store: Any,
    fake_source: Any,
    zendesk_event: Callable[..., bytes],
    message: str,
) -> None:
    """K5: whatever a source's PayloadError says (NUL, lone surrogate), the body is quarantined
    with a storable reason and answered 400 — the reason is never why a quarantine fails."""
    harness = make_harness(store, source=_SayingSource(fake_source(), message))
    _, quarantine_before = _counts(harness)

    response = harness.post_event(zendesk_event(f"evt-{_unique()}"))

    assert response.status_code == 400
    assert _counts(harness)[1] == quarantine_before + 1
    reason = _last_quarantined(harness).reason
    assert is_storable(reason)
    assert reason == storable(f"PayloadError: {message}")[:500]


# --- the inbox processor ----------------------------------------------------------------


class _ConstructedSource:
    """A source whose events carry a Disposition built around validation (model_construct),
    or which fails with a given message: what a faulty connector could hand the processor."""

    platform = "zendesk"

    def __init__(self) -> None:
        self.field = "ticket_id"
        self.text = ""
        self.fail_with: str | None = None

    def verify_webhook(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def acknowledge(self, received: int, duplicates: int) -> None:
        return None

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        if self.fail_with is not None:
            raise PayloadError(self.fail_with)
        event_id = body.decode()
        now = datetime.now(UTC)
        fields: dict[str, Any] = {
            "platform": "zendesk",
            "ticket_id": "42",
            "outcome": "resolved",
            "occurred_at": now,
            "source": "webhook",
            "event_id": event_id,
            self.field: self.text,
        }
        return [WebhookEvent(event_id, now, Disposition.model_construct(**fields))]


TEXT_FIELDS = ["ticket_id", "ticket_url", "raw_status", "assignee", "group", "csat_raw"]


@K5_SETTINGS
@given(field=st.sampled_from(TEXT_FIELDS), text=UNSTORABLE_TEXT, fail=st.booleans())
@example(field="ticket_id", text="4\x002", fail=False)
@example(field="group", text="\ud800", fail=False)
@example(field="ticket_id", text="boom \x00", fail=True)
def test_k5_an_event_the_processor_cannot_store_ends_failed_and_is_never_claimed_again(
    store: Any, field: str, text: str, fail: bool
) -> None:
    """K5 after the ack: an inbox event whose disposition holds text the store cannot hold
    (or whose source fails with such text) ends ``processed`` or ``failed`` with a short,
    storable error — the batch commits, and a second run finds nothing to claim (no loop) —
    on both databases."""
    source = _ConstructedSource()
    source.field, source.text = field, text
    source.fail_with = text if fail else None
    inbox = InboxProcessor(store, {"zendesk": source})
    event_id = f"evt-{_unique()}"
    assert store.record_inbound_event("zendesk", event_id, event_id.encode())

    assert inbox.drain() == 1
    assert inbox.run_once() == 0

    with store.reading() as session:
        row = session.scalars(
            select(InboundEventRow).where(InboundEventRow.event_id == event_id)
        ).one()
        state, error = row.state, row.error
        recorded = session.scalars(
            select(DispositionRow.data).where(DispositionRow.event_id == event_id)
        ).all()
    assert state in {"processed", "failed"}
    if fail:
        assert state == "failed"
    if state == "failed":
        assert error is not None
        assert is_storable(error)
        assert len(error) <= 200
        assert recorded == []
    else:  # the text went into the JSON document only, escaped; it reads back repaired
        (data,) = recorded
        assert is_storable(getattr(Disposition.model_validate_json(data), field))


@K5_SETTINGS
@given(field=st.sampled_from([*TEXT_FIELDS, "event_id"]), text=UNSTORABLE_TEXT)
@example(field="ticket_id", text="4\x002")
@example(field="event_id", text="\ud800")
def test_k5_a_webhook_whose_disposition_text_cannot_be_stored_is_quarantined_at_the_receiver(
    make_harness: Callable[..., Any], store: Any, field: str, text: str
) -> None:
    """K5 at the receiver: a source that hands over a Disposition built around validation
    (so not repaired) with unstorable text in any field gets its body quarantined (inbox
    unchanged) and answered 400, the reason naming the field and quoting nothing."""
    source = _ConstructedSource()
    source.field, source.text = field, text
    harness = make_harness(store, source=source)
    inbox_before, quarantine_before = _counts(harness)

    response = harness.client.post("/webhooks/zendesk", content=f"evt-{_unique()}".encode())

    assert response.status_code == 400, response.text
    assert _counts(harness) == (inbox_before, quarantine_before + 1)
    reason = _last_quarantined(harness).reason
    assert reason.removeprefix(f"PayloadError: disposition {field} ") in REASONS
