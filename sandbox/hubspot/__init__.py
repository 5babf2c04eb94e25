"""Local emulator of the HubSpot CRM surface Baton uses.

``HubSpotState`` holds a portal (tickets, contacts, notes, emails, associations, pipelines,
owners, properties, private-app tokens, rate limits) and its webhook sender;
``create_app(state)`` serves the CRM v3 objects API (create, read, update, archive, merge,
batch upsert by a unique-value property, search), associations v4 and their labels,
pipelines, owners and properties, with HubSpot's error bodies, the ten-second and daily limits
and their ``X-HubSpot-RateLimit-*`` headers, fault injection, and the control API under
``/_sandbox/`` (see docs/sandbox.md).

One module per concern: ``facts`` (what HubSpot does, from its documentation), ``errors``,
``crm`` (records and validation), ``search``, ``state``, ``api`` (the REST resources),
``webhooks``, ``routes`` (the HTTP app), ``control`` (the control API) and ``sandbox``
(serving it). Like every sandbox it stands in for the vendor and shares no code with
``baton.connectors``.
"""

from __future__ import annotations

from baton.sandbox.hubspot.errors import HubSpotError
from baton.sandbox.hubspot.routes import create_app
from baton.sandbox.hubspot.sandbox import HubSpotSandbox
from baton.sandbox.hubspot.state import CSAT_PROPERTY, UNIQUE_PROPERTY, HubSpotState
from baton.sandbox.hubspot.webhooks import WebhookConfig, signature_v1, signature_v3

__all__ = [
    "CSAT_PROPERTY",
    "UNIQUE_PROPERTY",
    "HubSpotError",
    "HubSpotSandbox",
    "HubSpotState",
    "WebhookConfig",
    "create_app",
    "signature_v1",
    "signature_v3",
]
