"""Salesforce's Outbound Messages as the contract suite sends and receives them, built the
sandbox's way (``baton.sandbox.salesforce``), never the connector's: the receiver that answers
``<Ack>``, a Notification Id for a label, and a ``notifications`` envelope for status events."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response

from baton.connectors.salesforce.local import CSAT_FIELD, OUTBOUND_FIELDS
from baton.core.mapping import CompiledMapping
from baton.sandbox.salesforce import SalesforceState, envelope, to18
from baton.sandbox.salesforce import facts as sandbox_facts
from tests.contract.harness import ReceivedWebhook, StatusEvent, WebhookReceiver

CONTENT_TYPE = "text/xml; charset=utf-8"  # what the sandbox's Outbound Messages carry
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class AckingReceiver(WebhookReceiver):
    """The suite's receiver, answering Salesforce's ``<Ack>true</Ack>`` (else the sandbox
    redelivers) on any path under ``/hook`` (the secret segment follows it)."""

    def _app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/hook/{secret}")
        async def hook(secret: str, request: Request) -> Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            body = await request.body()
            self.received.append(ReceivedWebhook(headers, body, str(request.url)))
            ack = (
                f'<soapenv:Envelope xmlns:soapenv="{sandbox_facts.SOAP_ENV_NAMESPACE}">'
                f'<soapenv:Body><notificationsResponse xmlns="{sandbox_facts.OM_NAMESPACE}">'
                "<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
            )
            return Response(ack, status_code=200, media_type=CONTENT_TYPE)

        return app


def notification_id(label: str) -> str:
    """A Notification Id (an 18-character Salesforce id) standing for ``label``."""
    digest = hashlib.sha256(label.encode()).digest()
    tail = "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in digest[:12])
    return to18(sandbox_facts.NOTIFICATION_PREFIX + tail)


def status_envelope(
    state: SalesforceState, mapping: CompiledMapping, events: Sequence[StatusEvent]
) -> bytes:
    """One SOAP ``notifications`` envelope (Salesforce batches up to 100), each Notification
    the sandbox's case with the event's Status (the first the mapping reads as it) and time."""
    outcomes = {"open": "open", "pending": "pending", "solved": "resolved"}
    items: list[tuple[str, dict[str, Any]]] = []
    with state.lock:
        closed = state.case_fields["Status"].closed_values
        statuses = state.case_fields["Status"].picklist
        for event in events:
            case = state.record("Case", event.ticket_id)
            assert case is not None, f"no case {event.ticket_id}"
            wanted = outcomes[event.status]
            status = next(s for s in statuses if mapping.statuses.get(s.casefold()) == wanted)
            values = dict(case)
            values.update(
                Status=status,
                IsClosed=status in closed,
                ClosedDate=event.at if status in closed else None,
                LastModifiedDate=event.at,
                SystemModstamp=event.at,
            )
            items.append((event.event_id, values))
        head = state._outbound_head(False) | {"ActionId": state.outbound.config.action_id}
    # The fields LocalSalesforce.send_webhooks_to subscribes the message to.
    fields = [*OUTBOUND_FIELDS, state.external_id_field]
    if CSAT_FIELD in state.case_fields:
        fields.append(CSAT_FIELD)
    return envelope(head, items, fields)
