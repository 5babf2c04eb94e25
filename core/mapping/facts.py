"""Platform facts the mapping engine relies on, in one place (checked against vendor API docs).

Anything marked UNCONFIRMED is an assumption not yet checked against the vendor; correct it
here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from baton.core.handoff import Platform

ZENDESK_PRIORITIES = ("urgent", "high", "normal", "low")
ZENDESK_TYPES = ("problem", "incident", "question", "task")
ZENDESK_STATUSES = ("new", "open", "pending", "hold", "solved", "closed", "deleted")

SALESFORCE_PRIORITY_FIELD = "Priority"
SALESFORCE_STATUS_FIELD = "Status"
SALESFORCE_SUBJECT_MAX_CHARS = 255
SALESFORCE_DESCRIPTION_MAX_CHARS = 32_000

HUBSPOT_PRIORITY_PROPERTY = "hs_ticket_priority"
HUBSPOT_NOTE_TO_TICKET_DEFAULT = 228  # UNCONFIRMED: read /crm/v4/associations/notes/tickets/labels

# Catalog field types that take one of a fixed set of option values, numbers, or booleans.
OPTION_TYPES = frozenset(
    {"tagger", "dropdown", "multiselect", "picklist", "multipicklist", "enumeration"}
)
NUMBER_TYPES = frozenset({"decimal", "integer", "double", "number", "currency", "percent", "int"})
BOOLEAN_TYPES = frozenset({"checkbox", "boolean"})


@dataclass(frozen=True)
class SizeLimit:
    """A size ceiling, in characters or in UTF-8 bytes."""

    amount: int
    unit: str = "chars"

    def measure(self, text: str) -> int:
        """The size of ``text`` in this limit's unit."""
        return len(text.encode("utf-8")) if self.unit == "bytes" else len(text)

    def cut(self, text: str, marker: str) -> str:
        """``text`` shortened to fit, ending with ``marker``."""
        room = self.amount - self.measure(marker)
        if self.unit == "bytes":
            head = text.encode("utf-8")[: max(room, 0)].decode("utf-8", errors="ignore")
        else:
            head = text[: max(room, 0)]
        return head + marker


NOTE_LIMITS: dict[Platform, SizeLimit] = {
    "zendesk": SizeLimit(65_000),  # UNCONFIRMED: Zendesk comment size limit
    "salesforce": SizeLimit(4_000, "bytes"),  # CaseComment.CommentBody, PLATFORMS.md
    "hubspot": SizeLimit(65_000),  # UNCONFIRMED: hs_note_body size limit
}
NOTE_IS_HTML: dict[Platform, bool] = {"zendesk": True, "salesforce": False, "hubspot": True}
