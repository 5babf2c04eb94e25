"""Salesforce Outbound Messages end to end: the real service, the real connector, the sandbox.

Four handoffs are delivered by the real delivery worker through the Salesforce connector to
the Salesforce sandbox (four cases). The sandbox's Outbound Message on Case is pointed at a
small receiver in the test that keeps every message the sandbox sends and acknowledges it.
To get the three cases' notifications into ONE message, the receiver holds back its answer
to a message about the fourth case (the "blocker") while the three cases change: the
sandbox's sender is busy, the three notifications queue up, and go out together once the
blocker is answered. That happens twice (the sandbox clock moved on in between), giving an
older and a newer message, each of three notifications, each exactly as the sandbox sent it.

The newer message is then POSTed to ``/webhooks/salesforce/<secret path>`` of the service
(``webhooks.app.create_app`` with the real connector as the webhook source), again with its
notifications in reverse order, then the older message: every answer is Salesforce's SOAP
Ack, each notification is recorded once (D1), and each case's current disposition is its
latest value, not the last to arrive (D4, D5). The same newer message with another org's
OrganizationId is a SOAP fault storing nothing; a billion-laughs body and an external-entity
body are refused without expansion, storing nothing (A1).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from baton.connectors.base import connector_for
from baton.connectors.salesforce.outbound import ACKNOWLEDGEMENT
from baton.core.delivery import delivery_workers
from baton.core.handoff import Handoff, validate_handoff
from baton.core.inbox import InboxProcessor
from baton.core.mapping import load_mapping
from baton.core.ports import Connector
from baton.core.store import Store
from baton.webhooks.app import create_app
from baton.webhooks.settings import ServiceSettings
from tests.e2e.desks import Desk, running_desk
from tests.support.paths import MAPPINGS, example_handoff

pytestmark = pytest.mark.timeout(120)

XML = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "notifications"}
WAIT_SECONDS = 20.0
NOTIFICATION = re.compile(rb"<Notification>.*?</Notification>", re.DOTALL)
ORGANIZATION = re.compile(rb"<OrganizationId>([^<]*)</OrganizationId>")
OTHER_ORG = "00D000000000999EAA"
# (older message's Status, newer message's Status, the outcome the newer one maps to)
CHANGES = [
    ("Escalated", "Closed", "resolved"),
    ("Waiting on Customer", "Working", "open"),
    ("Escalated", "Waiting on Customer", "pending"),
]
OLDER_OUTCOMES = ["transferred", "pending", "transferred"]

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><lolz>&lol9;</lolz>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>&xxe;</soapenv:Body></soapenv:Envelope>"
)


# --- a receiver for the sandbox's Outbound Messages ----------------------------------------


class Receiver:
    """Keeps every message POSTed to it and answers the Ack; a message about ``hold_case``
    is answered only once ``release`` is set."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.hold_case: str | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hold = receiver.hold_case
                if hold is not None and hold.encode() in body:
                    receiver.holding.set()
                    receiver.release.wait(WAIT_SECONDS)
                else:
                    receiver.messages.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(ACKNOWLEDGEMENT)))
                self.end_headers()
                self.wfile.write(ACKNOWLEDGEMENT)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/webhooks/salesforce"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# --- the world: four delivered handoffs, two captured messages, the service ---------------


@dataclass
class World:
    desk: Desk
    store: Store
    connector: Connector
    client: TestClient
    path: str  # /webhooks/salesforce/<secret path>
    handoffs: list[Handoff]  # the three whose cases change
    cases: list[str]
    older: bytes
    newer: bytes


def handoffs(count: int) -> list[Handoff]:
    """``count`` copies of the example handoff, each with its own id."""
    raw = example_handoff().model_dump(mode="json", exclude_none=True)
    return [validate_handoff({**raw, "id": f"ho_om_{i:02d}"}) for i in range(count)]


def capture_one_message(
    desk: Desk, receiver: Receiver, blocker: str, changes: dict[str, str]
) -> bytes:
    """Change each case to its Status while the sandbox's sender is held on a message about
    ``blocker``; the one message the three changes then went out in."""
    receiver.release.clear()
    receiver.holding.clear()
    receiver.hold_case = blocker
    before = len(receiver.messages)
    desk.control("POST", f"/cases/{blocker}/comment", {"body": "blocker", "public": False})
    assert receiver.holding.wait(WAIT_SECONDS), "the sandbox sent nothing about the blocker"
    for case, status in changes.items():
        desk.control("POST", f"/cases/{case}/status", {"status": status})
    receiver.release.set()
    deadline = time.monotonic() + WAIT_SECONDS
    while len(receiver.messages) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    receiver.hold_case = None
    [message] = receiver.messages[before:]
    return message


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("outbound")
    store = Store(f"sqlite:///{folder / 'baton.db'}")
    store.migrate()
    receiver = Receiver()
    with running_desk("salesforce") as desk:
        env = desk.env
        connector = connector_for("salesforce", load_mapping(MAPPINGS, "salesforce"), env)
        try:
            batch = handoffs(4)
            for handoff in batch:
                store.add_handoff(handoff, "salesforce")
            [worker] = delivery_workers(store, {"salesforce": connector})
            assert worker.drain() == 4
            links = [store.ticket_link(h.id) for h in batch]
            cases = [link.ticket_id for link in links if link is not None]
            assert len(cases) == 4

            desk.sandbox.send_webhooks_to(receiver.url)
            blocker, changing = cases[0], cases[1:]
            older = capture_one_message(
                desk, receiver, blocker, dict(zip(changing, [c[0] for c in CHANGES], strict=True))
            )
            desk.control("POST", "/clock", {"advance_seconds": 60})
            newer = capture_one_message(
                desk, receiver, blocker, dict(zip(changing, [c[1] for c in CHANGES], strict=True))
            )
            settings = ServiceSettings(
                api_keys=(SecretStr("outbound-test-key"),),
                public_url="http://testserver",
                mappings_dir=MAPPINGS,
            )
            app = create_app(store, {"salesforce": connector}, settings)
            path = f"/webhooks/salesforce/{env['BATON_SALESFORCE_WEBHOOK_PATHS']}"
            with TestClient(app) as client:
                yield World(desk, store, connector, client, path, batch[1:], changing, older, newer)
        finally:
            connector.close()
            receiver.close()
            store.close()


def notifications(message: bytes) -> list[bytes]:
    """The message's Notification elements, in order."""
    return NOTIFICATION.findall(message)


def reversed_message(message: bytes) -> bytes:
    """The same message with its Notifications in reverse order (byte for byte otherwise)."""
    items = notifications(message)
    start = message.index(items[0])
    end = message.index(items[-1]) + len(items[-1])
    return message[:start] + b"".join(reversed(items)) + message[end:]


def is_soap_fault(status: int, content_type: str, body: bytes) -> bool:
    return (
        400 <= status < 500
        and content_type.startswith("text/xml")
        and b"Fault>" in body
        and b"faultcode" in body
    )


# --- the tests -------------------------------------------------------------------------------


def test_the_sandbox_sent_one_message_of_three_notifications_each_time(world: World) -> None:
    """The set-up holds: each captured message is one of the sandbox's, about the three
    cases, with distinct notification ids."""
    for message in (world.older, world.newer):
        items = notifications(message)
        assert len(items) == 3
        assert all(any(case.encode() in item for item in items) for case in world.cases)
    ids = re.findall(rb"<Id>(04l[0-9A-Za-z]+)</Id>", world.older + world.newer)
    assert len(set(ids)) == 6, ids


def test_d1_d4_d5_three_notifications_twice_reversed_then_older_end_at_the_latest_values(
    world: World,
) -> None:
    """D1, D4, D5: the newer message twice (the second time reversed), then the older one →
    every answer is the SOAP Ack, each notification recorded once, and each case's current
    disposition is its newest value, not the last to arrive."""
    store = world.store
    before = store.table_counts()["inbound_events"]
    for body in (world.newer, reversed_message(world.newer), world.older):
        answer = world.client.post(world.path, content=body, headers=XML)
        assert (answer.status_code, answer.content) == (200, ACKNOWLEDGEMENT)
        assert answer.headers["content-type"].startswith("text/xml")
    assert reversed_message(world.newer) != world.newer
    InboxProcessor(store, {"salesforce": world.connector}).drain()
    assert store.table_counts()["inbound_events"] - before == 6  # the redelivery added nothing

    current = {}
    for handoff, case in zip(world.handoffs, world.cases, strict=True):
        disposition = store.current_disposition(handoff.id)
        assert disposition is not None
        assert disposition.ticket_id == case
        current[handoff.id] = disposition.outcome
    assert list(current.values()) == [outcome for _, _, outcome in CHANGES]
    assert list(current.values()) != OLDER_OUTCOMES


@pytest.mark.parametrize(
    "hostile",
    ["wrong-organization", "billion-laughs", "external-entity"],
)
def test_a1_a_wrong_org_or_an_entity_body_is_refused_and_stores_nothing(
    world: World, hostile: str
) -> None:
    """A1: another org's OrganizationId is a SOAP fault; a billion-laughs body and an
    external-entity body are refused (no entity is expanded); nothing is stored."""
    if hostile == "wrong-organization":
        match = ORGANIZATION.search(world.newer)
        assert match is not None
        body = world.newer.replace(
            match.group(0), f"<OrganizationId>{OTHER_ORG}</OrganizationId>".encode()
        )
        assert body != world.newer
    else:
        body = BILLION_LAUGHS if hostile == "billion-laughs" else EXTERNAL_ENTITY
    InboxProcessor(world.store, {"salesforce": world.connector}).drain()
    before = world.store.table_counts()
    answer = world.client.post(world.path, content=body, headers=XML)
    assert 400 <= answer.status_code < 500
    assert is_soap_fault(answer.status_code, answer.headers["content-type"], answer.content)
    assert b"lollol" not in answer.content
    assert b"root:" not in answer.content
    assert world.store.table_counts() == before


STATUS_ELEMENT = re.compile(rb"<sf:Status>[^<]*</sf:Status>")
NOTIFICATION_ID = re.compile(rb"<Id>(04l[0-9A-Za-z]+)</Id>")


def test_a_message_lacking_a_field_the_disposition_needs_is_read_again_after_the_ack(
    world: World,
) -> None:
    """The Outbound Message was set up without Status: the service acknowledges it without a
    platform call (K1), and the inbox processor then reads each case over REST, recording the
    disposition the case has now."""
    world.desk.control("POST", "/clock", {"advance_seconds": 60})
    for case in world.cases:
        world.desk.control("POST", f"/cases/{case}/status", {"status": "Closed"})
    body = STATUS_ELEMENT.sub(b"", world.newer)  # a message without the Status field
    for number, old in enumerate(NOTIFICATION_ID.findall(body)):  # new notifications
        body = body.replace(old, f"04l5g00000ZZZ{number:02d}AAA".encode())
    assert b"Status>" not in body
    reads = [r for r in world.desk.requests() if r.method == "GET" and "/sobjects/Case/" in r.path]

    answer = world.client.post(world.path, content=body, headers=XML)
    reads_at_ack = [
        r for r in world.desk.requests() if r.method == "GET" and "/sobjects/Case/" in r.path
    ]
    InboxProcessor(world.store, {"salesforce": world.connector}).drain()
    reads_after = [
        r for r in world.desk.requests() if r.method == "GET" and "/sobjects/Case/" in r.path
    ]

    assert (answer.status_code, answer.content) == (200, ACKNOWLEDGEMENT)
    assert len(reads_at_ack) == len(reads)  # nothing read before the acknowledgement
    assert len(reads_after) == len(reads) + 3  # one read of each case after it
    for handoff in world.handoffs:
        disposition = world.store.current_disposition(handoff.id)
        assert disposition is not None
        assert (disposition.outcome, disposition.source) == ("resolved", "webhook")
