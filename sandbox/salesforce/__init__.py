"""Local emulator of the Salesforce REST surface Baton uses.

``SalesforceState`` holds an org (Cases, CaseComments, queues, users, the delete log, sessions,
API usage), a clock and the Outbound Message sender; ``create_app(state)`` serves it with
Salesforce's OAuth token endpoint (client credentials, JWT bearer), sObject rows, upsert by
external id, describe, composite and sObject collections, SOQL query with paging, deleted
records, ``Sforce-Limit-Info`` and the daily request limit, assignment rules and fault
injection, plus the sandbox's control API under ``/_sandbox/`` (see docs/sandbox.md).

One module per concern: ``facts`` (what Salesforce does, from its documentation), ``ids``,
``errors``, ``schema`` (objects and fields), ``org``, ``cases`` and ``state`` (the layers of
``SalesforceState``), ``soql``, ``api`` and ``composite`` (the REST resources), ``auth`` (the
token endpoint), ``outbound`` (Outbound Messages), ``routes`` (the HTTP app), ``control``
(the control API) and ``sandbox`` (serving it). Like every sandbox it stands in for the vendor
and shares no code with ``baton.connectors``.
"""

from __future__ import annotations

from baton.sandbox.salesforce.errors import SalesforceError
from baton.sandbox.salesforce.ids import id_suffix, to18
from baton.sandbox.salesforce.outbound import OutboundConfig, envelope, is_ack
from baton.sandbox.salesforce.routes import create_app
from baton.sandbox.salesforce.sandbox import SalesforceSandbox
from baton.sandbox.salesforce.soql import SoqlError, parse
from baton.sandbox.salesforce.state import SalesforceState

__all__ = [
    "OutboundConfig",
    "SalesforceError",
    "SalesforceSandbox",
    "SalesforceState",
    "SoqlError",
    "create_app",
    "envelope",
    "id_suffix",
    "is_ack",
    "parse",
    "to18",
]
