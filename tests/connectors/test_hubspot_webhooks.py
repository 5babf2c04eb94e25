"""connectors.hubspot's webhooks through the connector: bodies built as HubSpot sends them (a
JSON array of notifications), read into dispositions and re-reads, the re-read against the
local HubSpot sandbox, and ``verify_webhook`` with the connector's own settings (the function
level is tests/connectors/test_hubspot_events.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.connector import HubSpotConnector
from baton.core.catalog import load_catalog
from baton.core.errors import PayloadError, VerificationError
from baton.core.mapping import load_mapping
from baton.sandbox.clock import ManualClock
from baton.sandbox.hubspot import HubSpotSandbox, HubSpotState
from tests.support.paths import MAPPINGS

PORTAL, SUBSCRIPTION = 62000001, 3002
SECRET = "hubspot-webhook-secret-1"
OLD_SECRET = "hubspot-webhook-secret-0"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
AT_MS = int(NOW.timestamp() * 1000)
URL = "https://baton.example.com/webhooks/hubspot"


def mapping_connector(**env: str) -> HubSpotConnector:
    settings = {
        facts.ENV_ACCESS_TOKEN: "pat-na1-webhooks",
        facts.ENV_PORTAL_ID: str(PORTAL),
        facts.ENV_CLIENT_SECRETS: f"{OLD_SECRET},{SECRET}",
        **env,
    }
    return HubSpotConnector.from_env(load_mapping(MAPPINGS, "hubspot"), settings)


@pytest.fixture
def connector() -> Iterator[HubSpotConnector]:
    found = mapping_connector()
    yield found
    found.close()


def event(event_id: int, kind: str, object_id: int, at_ms: int = AT_MS, **extra: Any) -> dict:
    return {
        "eventId": event_id,
        "subscriptionId": SUBSCRIPTION,
        "portalId": PORTAL,
        "appId": 3100001,
        "occurredAt": at_ms,
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": object_id,
        "changeSource": "CRM_UI",
        **extra,
    }


def change(event_id: int, object_id: int, name: str, value: str, at_ms: int = AT_MS) -> dict:
    return event(
        event_id,
        facts.TICKET_PROPERTY_CHANGE,
        object_id,
        at_ms,
        propertyName=name,
        propertyValue=value,
    )


def body(*events: dict) -> bytes:
    return json.dumps(list(events), separators=(",", ":")).encode()


def key(event_id: int) -> str:
    """The start of the key the connector gives a notification (portal, subscription,
    eventId; the object id may follow)."""
    return f"{PORTAL}:{SUBSCRIPTION}:{event_id}"


def keyed(found: str, event_id: int) -> bool:
    return found == key(event_id) or found.startswith(f"{key(event_id)}:")


# ---- reading the notifications -------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "outcome", "name"),
    [
        ("4", "resolved", "Closed"),
        ("2", "pending", "Waiting on contact"),
        ("61000011", "open", "Escalated"),
    ],
)
def test_a_stage_change_is_a_disposition_from_the_body(connector, stage, outcome, name) -> None:
    at = AT_MS - 90_123
    [found] = connector.parse_webhook(body(change(11, 501, "hs_pipeline_stage", stage, at)))
    assert keyed(found.event_id, 11)
    assert found.reread is None
    disposition = found.disposition
    assert disposition is not None
    assert (disposition.outcome, disposition.raw_status) == (outcome, name)
    assert disposition.occurred_at == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=at)
    assert disposition.handoff_id is None
    assert (disposition.ticket_id, disposition.event_id) == ("501", found.event_id)
    assert disposition.ticket_url == f"https://app.hubspot.com/contacts/{PORTAL}/record/0-5/501"
    assert disposition.source == "webhook"


def test_owner_changes_for_one_ticket_reread_only_the_newest(connector) -> None:
    events = connector.parse_webhook(
        body(
            change(1, 700, "hubspot_owner_id", "81000001", AT_MS + 10),
            change(2, 700, "hubspot_owner_id", "81000003", AT_MS + 30),
            change(3, 701, "hubspot_owner_id", "81000002", AT_MS + 5),
            change(4, 700, "hs_pipeline", "61000001", AT_MS + 20),
            change(5, 700, "subject", "renamed", AT_MS + 40),
        )
    )
    assert all(keyed(e.event_id, i) for i, e in enumerate(events, start=1))
    # only the newest owner/pipeline change per ticket is read again; subject is not followed
    assert [e.reread for e in events] == [None, "700", "701", None, None]
    assert all(e.disposition is None for e in events)


def test_csat_changes_and_restores_are_reread(connector) -> None:
    events = connector.parse_webhook(
        body(
            change(1, 800, "baton_csat_score", "4"),
            event(2, facts.TICKET_RESTORE, 801),
            event(3, facts.TICKET_CREATION, 802),
        )
    )
    assert [e.reread for e in events] == ["800", "801", None]


def test_a_deletion_is_deleted(connector) -> None:
    [found] = connector.parse_webhook(body(event(9, facts.TICKET_DELETION, 900)))
    assert found.disposition is not None
    assert (found.disposition.outcome, found.disposition.ticket_id) == ("deleted", "900")
    assert keyed(found.disposition.event_id or "", 9)
    assert found.disposition.event_id == found.event_id


def test_a_merge_reports_each_merged_ticket_and_rereads_the_primary(connector) -> None:
    merge = event(
        21,
        facts.TICKET_MERGE,
        1000,
        primaryObjectId=1000,
        mergedObjectIds=[1001, 1000, 1002],
        newObjectId=1000,
        numberOfPropertiesMoved=2,
    )
    events = connector.parse_webhook(body(merge))
    parent = events[0].event_id  # the merge notification itself
    assert keyed(parent, 21)
    assert (events[0].disposition, events[0].reread) == (None, None)
    merged = [e for e in events if e.disposition is not None]
    assert [(e.event_id, e.disposition.ticket_id) for e in merged] == [
        (f"{parent}:merged:1001", "1001"),
        (f"{parent}:merged:1002", "1002"),
    ]
    assert all(e.disposition.outcome == "merged" for e in merged)
    assert all(e.disposition.event_id == e.event_id for e in merged)
    [primary] = [e for e in events if e.reread is not None]
    assert (primary.event_id, primary.reread) == (f"{parent}:primary", "1000")
    assert len({e.event_id for e in events}) == len(events)


def test_one_event_id_for_two_tickets_is_two_dispositions(connector) -> None:
    events = connector.parse_webhook(
        body(
            change(7, 1201, "hs_pipeline_stage", "4"),
            change(7, 1202, "hs_pipeline_stage", "2"),
        )
    )
    found = {e.disposition.ticket_id: e.disposition.outcome for e in events if e.disposition}
    assert found == {"1201": "resolved", "1202": "pending"}
    assert len({e.event_id for e in events}) == 2


def test_a_redelivered_notification_reads_the_same(connector) -> None:
    first = connector.parse_webhook(body(change(5, 1, "hs_pipeline_stage", "4")))
    again = connector.parse_webhook(
        body({**change(5, 1, "hs_pipeline_stage", "4"), "attemptNumber": 3})
    )
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert first[0].disposition == again[0].disposition


def test_an_unreadable_body_is_a_payload_error(connector) -> None:
    with pytest.raises(PayloadError):
        connector.parse_webhook(b'{"eventId": 1}')


# ---- the re-read, against the sandbox ------------------------------------------------------


@pytest.fixture
def portal() -> Iterator[tuple[HubSpotState, HubSpotConnector]]:
    catalog = load_catalog(MAPPINGS / "catalogs" / "hubspot.json")
    state = HubSpotState.from_catalog(
        catalog, clock=ManualClock(NOW), ten_second_limit=10**6, daily_limit=10**9
    )
    with HubSpotSandbox(state) as sandbox:
        found = mapping_connector(
            **{
                facts.ENV_ACCESS_TOKEN: sandbox.access_token,
                facts.ENV_HOST_OVERRIDE: sandbox.base_url,
                facts.ENV_RATE_LIMIT: "100000",
            }
        )
        try:
            yield state, found
        finally:
            found.close()


def _ticket(state: HubSpotState, handoff_id: str | None, **props: Any) -> str:
    values = {"subject": "s", "hs_pipeline": "0", "hs_pipeline_stage": "1", **props}
    if handoff_id:
        values["baton_handoff_id"] = handoff_id
    return state.create("tickets", values, "INTEGRATION").id


def test_reread_of_a_baton_ticket_is_its_disposition_with_the_event_id(portal) -> None:
    state, connector = portal
    ticket = _ticket(state, "reread-0001", hubspot_owner_id="81000001")
    state.clock.advance(1)
    state.assign(ticket, "81000002")
    state.request_log.clear()
    disposition = connector.reread(ticket, key(77))
    assert len(state.request_log.entries()) == 1
    assert disposition is not None
    assert (disposition.handoff_id, disposition.ticket_id) == ("reread-0001", ticket)
    assert (disposition.event_id, disposition.source) == (key(77), "webhook")
    assert (disposition.assignee, disposition.transfer_count) == ("Daniel Reyes", 1)


def test_reread_of_an_archived_or_unknown_ticket_is_none(portal) -> None:
    state, connector = portal
    ticket = _ticket(state, "reread-0002")
    state.agent_archive(ticket)
    assert connector.reread(ticket, key(1)) is None
    assert connector.reread("999999999", key(2)) is None


def test_reread_of_a_ticket_baton_did_not_make_is_none(portal) -> None:
    state, connector = portal
    assert connector.reread(_ticket(state, None), key(3)) is None


# ---- verify_webhook with the connector's settings ------------------------------------------


def v3(secret: str, uri: str, raw: bytes, at: datetime) -> dict[str, str]:
    timestamp = str(int(at.timestamp() * 1000))
    message = b"POST" + uri.encode() + raw + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {
        "x-hubspot-signature-v3": base64.b64encode(digest).decode(),
        "x-hubspot-request-timestamp": timestamp,
    }


def legacy(version: str, secret: str, raw: bytes, uri: str = "") -> dict[str, str]:
    tail = (b"POST" + uri.encode() if version == "v2" else b"") + raw
    return {
        "x-hubspot-signature": hashlib.sha256(secret.encode() + tail).hexdigest(),
        "x-hubspot-signature-version": version,
    }


RAW = body(change(1, 501, "hs_pipeline_stage", "4"))


def test_v3_from_either_configured_secret_verifies(connector) -> None:
    for secret in (SECRET, OLD_SECRET):
        connector.verify_webhook(v3(secret, URL, RAW, NOW), RAW, url=URL, now=NOW)
    with pytest.raises(VerificationError):
        connector.verify_webhook(v3("another", URL, RAW, NOW), RAW, url=URL, now=NOW)


def test_v3_over_a_uri_the_sender_encoded_differently(connector) -> None:
    """HubSpot signs the URI with its table's encodings decoded (``%3A`` → ``:``), the query
    string included; other escapes (``%20``) stay as they are."""
    received = f"{URL}?portal=62000001%3Aprod&who=ops%40acme&note=a%20b"
    signed = f"{URL}?portal=62000001:prod&who=ops@acme&note=a%20b"
    connector.verify_webhook(v3(SECRET, signed, RAW, NOW), RAW, url=received, now=NOW)
    lowercase = received.replace("%3A", "%3a")
    connector.verify_webhook(v3(SECRET, signed, RAW, NOW), RAW, url=lowercase, now=NOW)
    fully = signed.replace("%20", " ")
    with pytest.raises(VerificationError):
        connector.verify_webhook(v3(SECRET, fully, RAW, NOW), RAW, url=received, now=NOW)


def test_v3_older_than_five_minutes_is_refused(connector) -> None:
    stale = v3(SECRET, URL, RAW, NOW - timedelta(minutes=6))
    with pytest.raises(VerificationError):
        connector.verify_webhook(stale, RAW, url=URL, now=NOW)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_legacy_signatures_only_when_listed(version: str) -> None:
    headers = legacy(version, SECRET, RAW, URL)
    off = mapping_connector()
    other = "v2" if version == "v1" else "v1"
    wrong = mapping_connector(**{facts.ENV_LEGACY_SIGNATURES: other})
    on = mapping_connector(**{facts.ENV_LEGACY_SIGNATURES: version})
    try:
        for refusing in (off, wrong):
            with pytest.raises(VerificationError):
                refusing.verify_webhook(headers, RAW, url=URL, now=NOW)
        on.verify_webhook(headers, RAW, url=URL, now=NOW)
        with pytest.raises(VerificationError):
            on.verify_webhook(headers, RAW + b" ", url=URL, now=NOW)
    finally:
        for made in (off, wrong, on):
            made.close()


def test_no_configured_secret_verifies_nothing() -> None:
    bare = mapping_connector(**{facts.ENV_CLIENT_SECRETS: ""})
    try:
        with pytest.raises(VerificationError):
            bare.verify_webhook(v3(SECRET, URL, RAW, NOW), RAW, url=URL, now=NOW)
    finally:
        bare.close()
