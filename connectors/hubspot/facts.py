"""HubSpot facts Baton's mapping relies on, in one place (checked against HubSpot's docs).

Anything marked UNCONFIRMED is an assumption not yet checked against the vendor; correct it
here and nowhere else.
"""

from __future__ import annotations

from typing import Final

PLATFORM: Final = "hubspot"
PRIORITY_PROPERTY: Final = "hs_ticket_priority"
UPSERT_PATH: Final = "/crm/v3/objects/tickets/batch/upsert"
NOTES_PATH: Final = "/crm/v3/objects/notes"

# ---- UNCONFIRMED assumptions: not checked against HubSpot's reference; correct them here -----
NOTE_TO_TICKET_DEFAULT: Final = 228  # read /crm/v4/associations/notes/tickets/labels
NOTE_MAX_CHARS: Final = 65_000  # hs_note_body
