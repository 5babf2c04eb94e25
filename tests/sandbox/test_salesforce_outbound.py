"""Outbound Messages as the sandbox sends them: the documented SOAP structure (parsed with
defusedxml), retries until ``<Ack>true</Ack>``, lost mode, duplicates and disorder on request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]
from fastapi import FastAPI, Request, Response

from baton.core.catalog import load_catalog
from baton.sandbox.salesforce import SalesforceSandbox, SalesforceState
from baton.sandbox.server import serve_in_thread

CATALOG = Path(__file__).parents[2] / "mappings" / "catalogs" / "salesforce.json"
OM = "{http://soap.sforce.com/2005/09/outbound}"
SF = "{urn:sobject.enterprise.soap.sforce.com}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
ACK = (
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b'<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
)
FAULT = (
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode>"
    b"<faultstring>busy</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)


@dataclass
class Listener:
    """Records every message; answers from ``script`` (then Ack)."""

    script: list[tuple[int, bytes]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notification_ids(self) -> list[str]:
        """Every Notification/Id received, in order."""
        with self.lock:
            bodies = list(self.bodies)
        return [
            n.findtext(f"{OM}Id") for b in bodies for n in fromstring(b).iter(f"{OM}Notification")
        ]


@pytest.fixture
def listener() -> Iterator[tuple[Listener, str]]:
    heard = Listener()
    app = FastAPI()

    @app.post("/webhooks/salesforce/secret")
    async def receive(request: Request) -> Response:
        body = await request.body()
        with heard.lock:
            heard.bodies.append(body)
            heard.headers.append(dict(request.headers))
            status, answer = heard.script.pop(0) if heard.script else (200, ACK)
        return Response(answer, status_code=status, media_type="text/xml")

    with serve_in_thread(app) as running:
        yield heard, f"{running.base_url}/webhooks/salesforce/secret"


@pytest.fixture
def org() -> Iterator[tuple[SalesforceState, str]]:
    state = SalesforceState.from_catalog(load_catalog(CATALOG), time_factor=100_000.0)
    with SalesforceSandbox(state) as sandbox:
        yield state, sandbox.base_url


def _configure(base: str, url: str, **knobs: Any) -> None:
    fields = [
        "Id",
        "Status",
        "OwnerId",
        "IsClosed",
        "ClosedDate",
        "CaseNumber",
        "Baton_Handoff_Id__c",
        "Baton_CSAT__c",
    ]
    answer = requests.put(
        f"{base}/_sandbox/outbound", json={"url": url, "fields": fields, **knobs}, timeout=5
    )
    assert answer.status_code == 200, answer.text


def test_envelope_has_the_documented_structure(org: Any, listener: Any) -> None:
    state, base = org
    heard, url = listener
    _configure(base, url)
    with state.lock:
        case_id = state.create_case({"Subject": "x", "Baton_Handoff_Id__c": "h-1"})["id"]
    state.commit()
    assert state.outbound.wait_idle(5)
    root = fromstring(heard.bodies[0])
    assert root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    notifications = root.find(
        f"{{http://schemas.xmlsoap.org/soap/envelope/}}Body/{OM}notifications"
    )
    assert notifications is not None
    children = [child.tag.removeprefix(OM) for child in notifications]
    assert children == [
        "OrganizationId",
        "ActionId",
        "SessionId",
        "EnterpriseUrl",
        "PartnerUrl",
        "Notification",
    ]
    assert notifications.findtext(f"{OM}OrganizationId") == state.organization_id
    assert len(state.organization_id) == 18
    assert notifications.find(f"{OM}SessionId").get(XSI_NIL) == "true"
    sobject = notifications.find(f"{OM}Notification/{OM}sObject")
    assert sobject.get(XSI_TYPE) == "sf:Case"
    assert sobject.findtext(f"{SF}Id") == case_id
    assert sobject.findtext(f"{SF}Status") == "New"
    assert sobject.findtext(f"{SF}IsClosed") == "false"
    assert sobject.findtext(f"{SF}Baton_Handoff_Id__c") == "h-1"
    assert sobject.find(f"{SF}ClosedDate") is None  # null: left out
    assert heard.headers[0]["content-type"].startswith("text/xml")


def test_retried_until_acknowledged_with_the_latest_values(org: Any, listener: Any) -> None:
    state, base = org
    heard, url = listener
    heard.script = [(500, b"oops"), (200, FAULT), (200, b"<not-an-ack/>")]
    _configure(base, url)
    with state.lock:
        case_id = state.create_case({"Subject": "x"})["id"]
    state.commit()
    state.set_status(case_id, "Working")  # a second notification, after the first
    assert state.outbound.wait_idle(10)
    attempts = state.outbound.attempts
    assert [a.acked for a in attempts[:4]] == [False, False, False, True]
    first_id = attempts[0].notification_ids
    assert attempts[3].notification_ids == first_id  # the same notification, retried
    statuses = [
        n.findtext(f"{SF}Status")
        for b in heard.bodies[3:]
        for n in fromstring(b).iter(f"{OM}sObject")
    ]
    assert statuses[0] == "Working"  # only the latest values at send time


def test_lost_mode_sends_nothing(org: Any, listener: Any) -> None:
    state, base = org
    heard, url = listener
    _configure(base, url, enabled=False)
    with state.lock:
        state.create_case({"Subject": "x"})
    state.commit()
    assert state.outbound.wait_idle(5)
    assert heard.bodies == []


def test_duplicates_and_disorder_when_asked(org: Any, listener: Any) -> None:
    state, base = org
    heard, url = listener
    requests.patch(f"{base}/_sandbox/outbound", json={"enabled": False}, timeout=5)
    _configure(base, url, duplicate_probability=0.5, shuffle=True, seed=7)
    with state.lock:
        for i in range(30):
            state.create_case({"Subject": f"case {i}"})
        changed = list(state.pending_changes)
    state.commit()
    assert state.outbound.wait_idle(10)
    received = heard.notification_ids()
    assert len(received) > len(set(received)) == 30  # some twice, none lost
    cases = [a.case_ids for a in state.outbound.attempts]
    order = [case for batch in cases for case in batch]
    first_seen = list(dict.fromkeys(order))
    assert first_seen != changed  # not in the order the changes were made
