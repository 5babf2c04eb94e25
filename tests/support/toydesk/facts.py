"""What Baton's side of ToyDesk relies on (plugin, mapping, connector), in one place.

The sandbox (:mod:`tests.support.toydesk.sandbox`) keeps its own copy of the wire facts on
purpose: it stands in for the vendor and must not agree with the connector by construction.
"""

from __future__ import annotations

from typing import Final

from baton.core.disposition import Outcome

PLATFORM: Final = "toydesk"
TITLE: Final = "ToyDesk"

ENV_URL: Final = "BATON_TOYDESK_URL"
ENV_TOKEN: Final = "BATON_TOYDESK_TOKEN"
ENV_WEBHOOK_SECRET: Final = "BATON_TOYDESK_WEBHOOK_SECRET"
DEFAULT_TIMEOUT: Final = 10.0

NOTE_MAX_CHARS: Final = 10_000
PRIORITIES: Final = ("low", "normal", "high", "urgent")
STATUSES: Final = ("open", "pending", "solved", "deleted")
DEFAULT_STATUSES: Final[dict[str, Outcome]] = {
    "open": "open",
    "pending": "pending",
    "solved": "resolved",
    "deleted": "deleted",
}
CSAT_VALUES: Final[dict[str, float]] = {"good": 1.0, "bad": 0.0}

TICKETS_PATH: Final = "/api/tickets"
TICKET_PATH: Final = "/api/tickets/{id}"
NOTES_PATH: Final = "/api/tickets/{id}/notes"  # the note is a request of its own (O7)
CHANGES_PATH: Final = "/api/changes"
CATALOG_PATH: Final = "/api/catalog"

SIGNATURE_HEADER: Final = "x-toydesk-signature"
TIMESTAMP_HEADER: Final = "x-toydesk-timestamp"
MAX_HEADER_CHARS: Final = 128
