"""The handoff API: 202/200/409/401/413/422, the status document, redaction before storing
(RELIABILITY C5), malformed handoffs (C4) and what never reaches logs or bodies (C2)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select, text

from baton.core.handoff import validate_handoff
from baton.core.tables import Base, HandoffRow
from baton.webhooks.settings import ServiceSettings

CARD = "4111 1111 1111 1111"
TRANSCRIPT_SENTINEL = "TRANSCRIPT-SENTINEL-the-customer-said-this"


def test_new_handoff_is_202_with_location_and_stored_with_its_delivery(
    db_harness: Any, handoff_doc: Any
) -> None:
    """A new handoff → 202 {id, status, platform, status_url} and Location; the handoff and its
    pending delivery are stored."""
    response = db_harness.post_handoff(handoff_doc("h-new"))

    assert response.status_code == 202
    assert response.json() == {
        "id": "h-new",
        "status": "received",
        "platform": "zendesk",
        "status_url": "/v1/handoffs/h-new",
        "warnings": [],
    }
    assert response.headers["Location"] == "/v1/handoffs/h-new"
    counts = db_harness.store.table_counts()
    assert (counts["handoffs"], counts["deliveries"]) == (1, 1)


def test_status_document(db_harness: Any, handoff_doc: Any) -> None:
    """GET /v1/handoffs/{id} → platform, status, delivery, ticket, disposition, history."""
    db_harness.post_handoff(handoff_doc("h-status"))

    response = db_harness.client.get("/v1/handoffs/h-status", headers=db_harness.auth)

    assert response.status_code == 200
    doc = response.json()
    assert doc["id"] == "h-status"
    assert (doc["platform"], doc["status"]) == ("zendesk", "received")
    assert doc["delivery"]["state"] == "pending"
    assert doc["delivery"]["attempts"] == 0
    assert doc["delivery"]["last_error"] is None
    assert doc["delivery"]["next_attempt_at"]
    assert (doc["ticket"], doc["disposition"], doc["history"]) == (None, None, [])
    assert doc["human_holds_conversation"] is False  # no ticket yet: the agent still holds it


def test_unknown_handoff_is_404(harness: Any) -> None:
    """An unknown id → 404."""
    response = harness.client.get("/v1/handoffs/nope", headers=harness.auth)
    assert (response.status_code, response.json()) == (404, {"error": "not_found"})


def test_same_id_same_body_is_200_with_the_existing_status(harness: Any, handoff_doc: Any) -> None:
    """Resubmitting the same handoff → 200 with its status document; nothing new stored."""
    assert harness.post_handoff(handoff_doc("h-again")).status_code == 202
    before = harness.store.table_counts()

    response = harness.post_handoff(handoff_doc("h-again"))

    assert response.status_code == 200
    assert response.json()["id"] == "h-again"
    assert response.json()["delivery"]["state"] == "pending"
    assert harness.store.table_counts() == before


def test_same_id_other_body_is_409(harness: Any, handoff_doc: Any) -> None:
    """The same id with another body → 409 handoff_conflict; the first one stays."""
    harness.post_handoff(handoff_doc("h-conflict"))

    response = harness.post_handoff(handoff_doc("h-conflict", summary="Something else"))

    assert (response.status_code, response.json()) == (409, {"error": "handoff_conflict"})
    with harness.store.session() as session:
        body = session.scalars(select(HandoffRow.body)).one()
    assert "over the limit" in body


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key-0123456789abcdef", "Basic dGVzdA==", "Bearer", "bearer  "],
    ids=["none", "wrong_key", "basic", "empty_bearer", "blank"],
)
def test_missing_or_wrong_api_key_is_401_with_challenge(
    harness: Any, handoff_doc: Any, authorization: str | None
) -> None:
    """No or a wrong API key → 401 with WWW-Authenticate, for submit and status; nothing
    stored."""
    headers = {} if authorization is None else {"Authorization": authorization}
    before = harness.store.table_counts()

    submit = harness.client.post("/v1/handoffs", json=handoff_doc("h-401"), headers=headers)
    status = harness.client.get("/v1/handoffs/h-401", headers=headers)

    for response in (submit, status):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json() == {"error": "unauthorized"}
    assert harness.store.table_counts() == before


def test_any_configured_key_is_accepted_and_the_scheme_is_case_insensitive(
    make_harness: Any, sqlite_store: Any, handoff_doc: Any
) -> None:
    """Several keys (rotation): each one works; ``bearer`` in any case."""
    keys = ("first-key-0123456789abcdef", "second-key-0123456789abcdef")
    h = make_harness(sqlite_store, api_keys=tuple(SecretStr(k) for k in keys))
    assert h.post_handoff(handoff_doc("h-k1"), key=keys[0]).status_code == 202
    response = h.client.post(
        "/v1/handoffs", json=handoff_doc("h-k2"), headers={"Authorization": f"BEARER {keys[1]}"}
    )
    assert response.status_code == 202


def test_without_configured_keys_intake_refuses_everything(
    make_harness: Any, sqlite_store: Any, handoff_doc: Any
) -> None:
    """No BATON_API_KEYS → every handoff is 401 (webhooks still work)."""
    h = make_harness(sqlite_store, api_keys=())
    assert h.post_handoff(handoff_doc("h-nokeys")).status_code == 401
    assert h.post_handoff(handoff_doc("h-nokeys"), key="").status_code == 401


def test_oversize_handoff_is_413_before_parsing(
    make_harness: Any, sqlite_store: Any, handoff_doc: Any
) -> None:
    """A body over BATON_MAX_BODY_BYTES → 413 (declared length or streamed); nothing stored."""
    h = make_harness(sqlite_store, max_body_bytes=2048)
    big = handoff_doc("h-big", summary="x" * 4000)

    declared = h.post_handoff(big)

    def chunks() -> Iterator[bytes]:
        yield json.dumps(big).encode()

    headers = {**h.auth, "Content-Type": "application/json"}
    streamed = h.client.post("/v1/handoffs", content=chunks(), headers=headers)
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert h.store.table_counts()["handoffs"] == 0
    assert h.post_handoff(handoff_doc("h-small")).status_code == 202


MALFORMED: list[tuple[str, Any, set[str]]] = [
    ("wrong_types", {"priority": 5, "channel": ["chat"]}, {"priority", "channel"}),
    ("bad_id", {"id": "has spaces/and slashes"}, {"id"}),
    (
        "oversize_transcript_message",
        {"transcript": [{"role": "customer", "text": TRANSCRIPT_SENTINEL * 1000}]},
        {"transcript[0].text"},
    ),
    ("unknown_field", {"surprise": TRANSCRIPT_SENTINEL}, {"surprise"}),
    ("naive_time", {"created_at": "2026-03-01T11:59:00"}, {"created_at"}),
]


@pytest.mark.parametrize(("case", "changes", "paths"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_c4_malformed_handoff_is_422_with_field_paths_and_nothing_stored(
    harness: Any, handoff_doc: Any, case: str, changes: dict[str, Any], paths: set[str]
) -> None:
    """C4: wrong types, bad id characters, an oversize transcript message, an unknown field →
    422 {"error": "invalid_handoff", "problems": [{path, message}]}, no input value echoed,
    nothing stored."""
    before = harness.store.table_counts()

    response = harness.post_handoff(handoff_doc("h-c4", **changes))

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_handoff"
    assert {p["path"] for p in body["problems"]} == paths
    assert all(set(p) == {"path", "message"} for p in body["problems"])
    assert TRANSCRIPT_SENTINEL not in response.text
    assert "has spaces" not in response.text
    assert harness.store.table_counts() == before


@pytest.mark.parametrize(
    ("raw", "path"),
    [(b"not json", ""), (b"[]", ""), (b"", "")],
    ids=["not_json", "array", "empty"],
)
def test_c4_unreadable_handoff_is_422(harness: Any, raw: bytes, path: str) -> None:
    """C4: bodies that are not a JSON object → 422 with a root problem."""
    response = harness.post_handoff(raw)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_handoff"
    assert harness.store.table_counts()["handoffs"] == 0


def test_c4_missing_fields_are_all_reported(harness: Any) -> None:
    """C4: every missing required field is named."""
    response = harness.post_handoff({"id": "h-missing"})
    assert response.status_code == 422
    paths = {p["path"] for p in response.json()["problems"]}
    assert paths == {"created_at", "conversation_id", "channel", "intent", "triggers", "summary"}


@pytest.mark.parametrize("destination", ["hubspot", "salesforce"])
def test_destination_not_enabled_is_422_naming_destination(
    harness: Any, handoff_doc: Any, destination: str
) -> None:
    """A destination without a configured platform → 422 naming ``destination``."""
    response = harness.post_handoff(handoff_doc("h-dest", destination=destination))
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["path"] == "destination"
    assert destination in problem["message"]
    assert harness.store.table_counts()["handoffs"] == 0


def test_default_platform_not_enabled_is_422_naming_destination(
    make_harness: Any, sqlite_store: Any, handoff_doc: Any
) -> None:
    """No destination and a default platform without a source → 422 naming destination."""
    h = make_harness(sqlite_store, default_platform="hubspot")
    response = h.post_handoff(handoff_doc("h-default"))
    assert response.status_code == 422
    assert response.json()["problems"][0]["path"] == "destination"
    assert h.post_handoff(handoff_doc("h-z", destination="zendesk")).status_code == 202


def _database_text(store: Any) -> str:
    """Every value of every table, as one text (to prove something never reached the DB)."""
    parts: list[str] = []
    with store.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608
                for value in row:
                    parts.append(
                        value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    )
    return "\n".join(parts)


def test_c5_card_number_is_redacted_before_storing(db_harness: Any, handoff_doc: Any) -> None:
    """C5: a card number posted in the transcript, summary, facts and metadata never reaches
    the database; the masks do."""
    doc = handoff_doc(
        "h-card",
        summary=f"Card {CARD} was charged twice",
        transcript=[{"role": "customer", "text": f"my card is {CARD}, please refund"}],
        facts={"card": CARD},
        metadata={"nested": {"note": f"card {CARD}"}},
    )

    assert db_harness.post_handoff(doc).status_code == 202

    stored = _database_text(db_harness.store)
    assert "h-card" in stored
    assert CARD not in stored
    assert CARD.replace(" ", "") not in stored
    assert "[card ••••1111]" in stored
    again = db_harness.post_handoff(doc)
    assert again.status_code == 200  # redaction is deterministic: same body, same digest


def test_status_document_with_ticket_and_dispositions(
    harness: Any, handoff_doc: Any, zendesk_event: Any
) -> None:
    """After delivery and a webhook, the status shows the ticket and the current disposition."""
    store = harness.store
    harness.post_handoff(handoff_doc("h-full"))
    (claimed,) = store.claim_deliveries("w")
    store.complete_delivery(claimed.delivery_id, "w", ticket_id="5", ticket_url="https://z/5")
    harness.post_event(zendesk_event("e-full", ticket_id="5", status="pending"))
    harness.inbox.drain()

    doc = harness.client.get("/v1/handoffs/h-full", headers=harness.auth).json()

    assert doc["status"] == "delivered"
    assert doc["delivery"]["state"] == "delivered"
    assert doc["ticket"] == {
        "platform": "zendesk",
        "id": "5",
        "url": "https://z/5",
        "route": None,
        "target": None,
        "backup": None,
    }
    assert doc["disposition"]["outcome"] == "pending"
    assert len(doc["history"]) == 1


# --- C2: nothing secret in logs or bodies ---------------------------------------------------


def test_c2_no_secret_or_transcript_in_logs_or_error_bodies(
    make_harness: Any,
    sqlite_store: Any,
    fake_source: Any,
    handoff_doc: Any,
    zendesk_event: Any,
    signer: Any,
    service_logs: pytest.LogCaptureFixture,
    known: Any,
) -> None:
    """C2: a rejected webhook's secrets (configured and presented) and signature, the API key
    (right or wrong) and a handoff's transcript text appear in no log line and no response."""
    configured = "CONFIGURED-SIGNING-SECRET-c2"
    presented = "PRESENTED-WRONG-SECRET-c2"
    h = make_harness(sqlite_store, source=fake_source([configured]))
    body = zendesk_event("evt-c2")
    bad_headers = signer(body, secret=presented)
    transcript = [{"role": "customer", "text": TRANSCRIPT_SENTINEL}]
    wrong_key = "WRONG-API-KEY-0123456789-c2"

    responses = [
        h.post_event(body, headers=bad_headers),
        h.post_event(b'{"id": "' + TRANSCRIPT_SENTINEL.encode() + b'"}', secret=configured),
        h.post_handoff(handoff_doc("h-c2", transcript=transcript)),
        h.post_handoff(handoff_doc("h-c2", transcript=transcript)),
        h.post_handoff(handoff_doc("h-c2", transcript=transcript, summary="changed")),
        h.post_handoff(handoff_doc("h-c2b", transcript=transcript, priority=7)),
        h.post_handoff(handoff_doc("h-c2c", transcript=transcript), key=wrong_key),
        h.client.get("/v1/handoffs/h-c2", headers={"Authorization": f"Bearer {wrong_key}"}),
    ]
    assert [r.status_code for r in responses] == [401, 400, 202, 200, 409, 422, 401, 401]

    logged = "\n".join(
        record.getMessage() + " " + " ".join(str(a) for a in record.args or ())
        for record in service_logs.records
    )
    error_bodies = "\n".join(r.text for r in responses if r.status_code >= 400)
    forbidden = [
        configured,
        presented,
        bad_headers["X-Zendesk-Webhook-Signature"],
        known.API_KEY,
        wrong_key,
        TRANSCRIPT_SENTINEL,
    ]
    for secret in forbidden:
        assert secret not in logged
        assert secret not in error_bodies
    assert "webhook.unauthorized" in logged
    assert "handoff.received" in logged


def test_c2_settings_repr_hides_api_keys() -> None:
    """C2: repr() and str() of the settings never show an API key."""
    settings = ServiceSettings.from_env(
        {"BATON_API_KEYS": "key-one-0123456789abcdef, key-two-0123456789abcdef"}
    )
    for shown in (repr(settings), str(settings), repr(settings.api_keys)):
        assert "key-one" not in shown
        assert "key-two" not in shown
    assert len(settings.api_keys) == 2


def test_c2_handoff_logging_names_ids_not_content(
    harness: Any, handoff_doc: Any, service_logs: pytest.LogCaptureFixture
) -> None:
    """C2: the handoff log line carries the id and platform only."""
    service_logs.set_level(logging.INFO)
    harness.post_handoff(handoff_doc("h-log", summary=TRANSCRIPT_SENTINEL))
    lines = [r.getMessage() for r in service_logs.records if "handoff." in r.getMessage()]
    assert lines == ["handoff.received id=h-log platform=zendesk normalised=0"]


def test_stored_body_is_the_redacted_handoff(harness: Any, handoff_doc: Any) -> None:
    """The stored body parses back into the (redacted) handoff that was accepted."""
    harness.post_handoff(handoff_doc("h-body", summary=f"card {CARD}"))
    with harness.store.session() as session:
        body = session.scalars(select(HandoffRow.body)).one()
    stored = validate_handoff(json.loads(body))
    assert stored.summary == "card [card ••••1111]"
