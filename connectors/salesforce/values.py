"""A Case's fields → Baton's Disposition: one function for sync runs and Outbound Messages.

SOQL gives typed JSON (``IsClosed: true``, ``ClosedDate: "2024-01-02T03:04:05.000+0000"``);
an Outbound Message gives the same fields as text (``"true"``, ``"2024-01-02T03:04:05.000Z"``).
Both are read here the same way, so a webhook and a sync run that see one state agree.

What the Case's own fields cannot say comes, in a sync run, from the page's published
CaseComments and CaseHistory (:mod:`.activity`, as a :class:`CaseActivity`); an Outbound
Message carries only the case's current fields, so a webhook's disposition leaves it out
rather than guesses:

* **transfers** and **reopens** — need CaseHistory (Field History Tracking on Status and
  Owner): a webhook reports ``transfer_count``/``reopen_count`` 0 and the current status's
  outcome (a reopened case is ``open``; a status mapped to ``transferred`` in the mapping's
  ``dispositions:`` table, e.g. Escalated, still says it); the current owner is reported
  (``group`` for a queue, ``assignee`` for a user);
* **public replies** and **first response** — need the published CaseComments: None.

A sync run that has them reports, like Zendesk's, a case still open after a reopen as
``reopened`` and one open after an owner change as ``transferred``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic

from baton.connectors.salesforce import facts
from baton.core.catalog import Catalog
from baton.core.disposition import Disposition, Outcome, Source, csat_value
from baton.core.handoff import is_handoff_id

CaseFields = Mapping[str, Any]


@dataclass(frozen=True)
class CaseActivity:
    """What a case's published comments and Status/Owner history say (sync runs only)."""

    first_response_seconds: int | None = None
    public_replies: int | None = None
    reopen_count: int = 0
    transfer_count: int = 0


@dataclass(frozen=True)
class CaseReading:
    """How to read a Case: the mapping's status table (keys casefolded, as the compiled
    mapping holds them), its external-id and CSAT fields, and
    names for owner ids (a catalog's queues and users)."""

    external_id_field: str
    statuses: Mapping[str, Outcome] = field(default_factory=dict)
    csat_field: str | None = None
    csat_scale: float = 5.0
    queues: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        external_id_field: str,
        statuses: Mapping[str, Outcome],
        catalog: Catalog | None,
        *,
        csat_field: str | None = None,
        csat_scale: float = 5.0,
    ) -> CaseReading:
        """A reading with default statuses under the mapping's, and the catalog's names."""
        return cls(
            external_id_field,
            {
                status.casefold(): outcome
                for table in (facts.DEFAULT_STATUSES, statuses)
                for status, outcome in table.items()
            },
            csat_field,
            csat_scale,
            {_id15(g.id): g.name for g in catalog.groups} if catalog else {},
            {_id15(u.id): u.name for u in catalog.users} if catalog else {},
        )

    def needed_fields(self) -> list[str]:
        """The Case fields :func:`case_disposition` reads."""
        wanted = [
            facts.CASE_ID,
            facts.CASE_STATUS,
            facts.CASE_OWNER,
            facts.CASE_IS_CLOSED,
            facts.CASE_CLOSED_DATE,
            facts.CASE_CREATED_DATE,
            facts.CASE_MODSTAMP,
            self.external_id_field,
        ]
        return [*wanted, self.csat_field] if self.csat_field else wanted

    def lacks(self, case: CaseFields) -> bool:
        """Whether ``case`` misses a field the disposition cannot do without."""
        has_time = any(case.get(k) for k in (facts.CASE_MODSTAMP, facts.CASE_LAST_MODIFIED))
        required = (facts.CASE_ID, facts.CASE_STATUS, self.external_id_field)
        return not has_time or any(not case.get(k) for k in required)


def case_disposition(
    case: CaseFields,
    reading: CaseReading,
    *,
    ticket_url: Callable[[str], str | None],
    source: Source,
    event_id: str | None = None,
    activity: CaseActivity | None = None,
) -> Disposition | None:
    """The disposition a Case's fields describe; None when they do not say enough (no id,
    status or timestamp) or the case is not Baton's (no handoff id in the external-id field).

    Outcome: the status through the mapping's ``dispositions:`` table; a status it does not
    know is ``resolved`` when the case IsClosed, else ``open``. Resolution time is ClosedDate −
    CreatedDate for a closed case. CSAT comes from the mapping's ``csat_field`` when set.
    """
    case_id = _text(case.get(facts.CASE_ID))
    status = _text(case.get(facts.CASE_STATUS))
    occurred_at = timestamp(case.get(facts.CASE_MODSTAMP)) or timestamp(
        case.get(facts.CASE_LAST_MODIFIED)
    )
    handoff_id = handoff_id_or_none(case.get(reading.external_id_field))
    if case_id is None or status is None or occurred_at is None or handoff_id is None:
        return None
    closed = is_true(case.get(facts.CASE_IS_CLOSED))
    outcome = reading.statuses.get(status.casefold()) or ("resolved" if closed else "open")
    activity = activity or CaseActivity()
    if outcome in ("open", "pending"):
        if activity.reopen_count:
            outcome = "reopened"
        elif activity.transfer_count:
            outcome = "transferred"
    owner = _text(case.get(facts.CASE_OWNER))
    csat, csat_raw = (
        csat_value(case.get(reading.csat_field), reading.csat_scale)
        if (reading.csat_field)
        else (None, None)
    )
    try:
        return Disposition(
            handoff_id=handoff_id,
            platform=facts.PLATFORM,
            ticket_id=case_id,
            ticket_url=ticket_url(case_id),
            outcome=outcome,
            raw_status=status[:256],
            group=_owner_name(owner, facts.QUEUE_ID_PREFIX, reading.queues),
            assignee=_owner_name(owner, facts.USER_ID_PREFIX, reading.users),
            occurred_at=occurred_at,
            resolution_seconds=resolution_seconds(case) if closed else None,
            first_response_seconds=activity.first_response_seconds,
            public_replies=activity.public_replies,
            reopen_count=activity.reopen_count,
            transfer_count=activity.transfer_count,
            csat=csat,
            csat_raw=csat_raw,
            source=source,
            event_id=event_id,
        )
    except pydantic.ValidationError:
        return None


def resolution_seconds(case: CaseFields) -> int | None:
    """ClosedDate − CreatedDate in whole seconds; None when either is missing or backwards."""
    closed = timestamp(case.get(facts.CASE_CLOSED_DATE))
    created = timestamp(case.get(facts.CASE_CREATED_DATE))
    if closed is None or created is None or closed < created:
        return None
    return int((closed - created).total_seconds())


def timestamp(value: Any) -> datetime | None:
    """A Salesforce datetime (``…T03:04:05.000+0000`` or ``…Z``) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("+0000", "-0000")):
        text = text[:-5] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None


def is_true(value: Any) -> bool:
    """A checkbox as JSON (true) or as Outbound Message text ("true")."""
    return value is True or (isinstance(value, str) and value.strip().casefold() == "true")


def handoff_id_or_none(value: Any) -> str | None:
    """The external-id field's value when it is a handoff id."""
    return value if isinstance(value, str) and is_handoff_id(value) else None


def _owner_name(owner: str | None, prefix: str, names: Mapping[str, str]) -> str | None:
    if owner is None or not owner.startswith(prefix):
        return None
    return names.get(_id15(owner), owner)[:256]


def _id15(entity_id: object) -> str:
    """Salesforce ids compare on their first 15 characters (the 18-char form adds a suffix)."""
    return str(entity_id)[:15]


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
