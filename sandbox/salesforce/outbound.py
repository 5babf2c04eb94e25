"""Outbound Messages as Salesforce sends them: SOAP 1.1 ``notifications`` with up to 100
``Notification``s of the latest Case values, retried with backoff until the listener answers
``<Ack>true</Ack>``; on request duplicated and out of order (seeded)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

import requests
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from baton.sandbox.salesforce import facts

Json = dict[str, Any]
DEFAULT_FIELDS = [
    "Id",
    "CaseNumber",
    "Status",
    "OwnerId",
    "IsClosed",
    "ClosedDate",
    "LastModifiedDate",
]


@dataclass
class OutboundConfig:
    """One Outbound Message on Case (created or edited): where, which fields, and how badly."""

    url: str | None = None
    fields: list[str] = field(default_factory=lambda: list(DEFAULT_FIELDS))
    enabled: bool = True  # False: "lost", changes send nothing (they are not queued either)
    send_session_id: bool = False
    duplicate_probability: float = 0.0
    shuffle: bool = False
    seed: int | None = None
    action_id: str = ""


@dataclass
class Attempt:
    """One delivery attempt, for tests and the control API."""

    notification_ids: list[str]
    case_ids: list[str]
    attempt: int
    status: int | None
    acked: bool
    error: str | None = None


@dataclass(frozen=True)
class Notification:
    """A queued notification: its id (kept across retries and duplicates) and its case."""

    notification_id: str
    case_id: str


def xml_value(value: Any) -> str | None:
    """A field's value as the enterprise WSDL writes it (None: left out)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return escape(str(value))


def envelope(head: Json, items: list[tuple[str, Json]], fields: list[str]) -> bytes:
    """The SOAP message: ``head`` has OrganizationId, ActionId, SessionId (None: nil),
    EnterpriseUrl, PartnerUrl; ``items`` are (notification id, case values)."""
    session = head.get("SessionId")
    session_xml = (
        '<SessionId xsi:nil="true"/>'
        if session is None
        else f"<SessionId>{escape(session)}</SessionId>"
    )
    notes = []
    for notification_id, case in items:
        values = "".join(
            f"<sf:{name}>{text}</sf:{name}>"
            for name in ["Id", *[f for f in fields if f != "Id"]]
            if (text := xml_value(case.get(name))) is not None
        )
        notes.append(
            f"<Notification><Id>{notification_id}</Id>"
            f'<sObject xsi:type="sf:Case" xmlns:sf="{facts.SOBJECT_NAMESPACE}">{values}'
            "</sObject></Notification>"
        )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{facts.SOAP_ENV_NAMESPACE}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:xsi="{facts.XSI_NAMESPACE}"><soapenv:Body>'
        f'<notifications xmlns="{facts.OM_NAMESPACE}">'
        f"<OrganizationId>{head['OrganizationId']}</OrganizationId>"
        f"<ActionId>{head['ActionId']}</ActionId>{session_xml}"
        f"<EnterpriseUrl>{escape(head['EnterpriseUrl'])}</EnterpriseUrl>"
        f"<PartnerUrl>{escape(head['PartnerUrl'])}</PartnerUrl>"
        f"{''.join(notes)}</notifications></soapenv:Body></soapenv:Envelope>"
    )
    return text.encode("utf-8")


def is_ack(status: int, body: bytes) -> bool:
    """Whether an answer acknowledges the message: 2xx with ``notificationsResponse/Ack`` true
    (a SOAP fault, another body or another status is a failure, retried)."""
    if not 200 <= status < 300:
        return False
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError):
        return False
    ack = root.find(f".//{{{facts.OM_NAMESPACE}}}notificationsResponse/{{{facts.OM_NAMESPACE}}}Ack")
    return ack is not None and (ack.text or "").strip() == "true"


def retry_delays() -> list[float]:
    """Seconds between attempts: doubling from the first retry, capped, for 24 hours."""
    delays: list[float] = []
    delay, total = facts.OM_FIRST_RETRY_SECONDS, 0.0
    while total + delay <= facts.OM_RETRY_FOR.total_seconds():
        delays.append(delay)
        total += delay
        delay = min(delay * 2, facts.OM_MAX_RETRY_SECONDS)
    return delays


class OutboundDispatcher:
    """Queues notifications for changed cases and sends them from a background thread."""

    def __init__(
        self,
        case_values: Callable[[str], Json | None],
        head: Callable[[bool], Json],
        new_id: Callable[[], str],
        time_factor: float,
    ) -> None:
        self._case_values = case_values
        self._head = head
        self._new_id = new_id
        self.time_factor = time_factor
        self.config = OutboundConfig()
        self.attempts: list[Attempt] = []
        self.delays = retry_delays()
        self._pending: list[Notification] = []
        self._in_flight = 0
        self._cond = threading.Condition()
        self._rng = random.Random()  # noqa: S311 - a test knob, not security
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._session = requests.Session()

    def configure(self, config: OutboundConfig) -> OutboundConfig:
        """Replace the configuration (the action id stays)."""
        with self._cond:
            config.action_id = self.config.action_id or config.action_id
            self.config = config
            self._rng = random.Random(config.seed)  # noqa: S311
        return config

    def notify(self, case_ids: list[str]) -> None:
        """Queue a notification per changed case (nothing when lost or with no URL)."""
        with self._cond:
            config = self.config
            if not config.enabled or not config.url or not case_ids:
                return
            for case_id in case_ids:
                note = Notification(self._new_id(), case_id)
                self._pending.append(note)
                if self._rng.random() < config.duplicate_probability:
                    self._pending.append(note)
            if config.shuffle:
                self._rng.shuffle(self._pending)
            self._cond.notify_all()

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="salesforce-outbound", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Stop the sender thread (what is queued stays queued)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is queued or being sent; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def recent(self, count: int) -> list[Attempt]:
        """The last ``count`` attempts."""
        with self._cond:
            return self.attempts[-count:]

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                size = facts.OM_MAX_NOTIFICATIONS
                if self.config.shuffle:
                    size = self._rng.randint(1, min(size, len(self._pending)))
                batch, self._pending = self._pending[:size], self._pending[size:]
                self._in_flight += 1
            try:
                self._deliver(batch)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _deliver(self, batch: list[Notification]) -> None:
        for attempt in range(1, len(self.delays) + 2):
            with self._cond:
                config = self.config
            items = [
                (n.notification_id, values)
                for n in batch
                if (values := self._case_values(n.case_id)) is not None
            ]
            if not items or not config.url:
                return
            body = envelope(
                self._head(config.send_session_id) | {"ActionId": config.action_id},
                items,
                config.fields,
            )
            headers = {
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": facts.OM_SOAP_ACTION,
            }
            record = Attempt(
                [i[0] for i in items], [str(i[1]["Id"]) for i in items], attempt, None, False
            )
            try:
                response = self._session.post(config.url, data=body, headers=headers, timeout=10)
                record.status = response.status_code
                record.acked = is_ack(response.status_code, response.content)
            except requests.RequestException as exc:
                record.error = type(exc).__name__
            with self._cond:
                self.attempts.append(record)
                if self._stopping:
                    return
            if record.acked or attempt > len(self.delays):
                return
            time.sleep(self.delays[attempt - 1] / self.time_factor)
