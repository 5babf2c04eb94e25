"""A HubSpot ticket's properties → Baton's Disposition: one reading for sync and webhooks.

Search and batch read give every property value as a string (``"1732700000000"`` or
ISO-8601 for dates, ``"4"`` for a stage id). The outcome is the stage's name through the
mapping's ``dispositions:`` table; a stage the table does not name is ``resolved`` when the
stage is closed (its ``ticketState`` / the catalog's ``closed``), else ``open``. Transfers and
reopens come from the property history of ``hubspot_owner_id``, ``hs_pipeline`` and
``hs_pipeline_stage`` (``propertiesWithHistory``): every owner or pipeline after the first is a
transfer, every move from a closed stage to an open one a reopen. Times: ``time_to_close`` and
``time_to_first_agent_reply`` (milliseconds), else closed_date − createdate.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic

from baton.connectors.hubspot import facts
from baton.core.catalog import Catalog
from baton.core.disposition import Disposition, Outcome, Source, csat_value
from baton.core.handoff import is_handoff_id

Properties = Mapping[str, Any]
History = Mapping[str, Sequence[Any]]  # property → values, newest first (SDK models or dicts)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HISTORY_PROPERTIES = (facts.OWNER, facts.PIPELINE, facts.STAGE)


@dataclass(frozen=True)
class TicketReading:
    """How to read a ticket: the id property, the mapping's stage table (casefolded names),
    the CSAT property, and the catalog's names for stages, pipelines and owners."""

    id_property: str
    statuses: Mapping[str, Outcome] = field(default_factory=dict)
    csat_property: str | None = None
    csat_scale: float = 5.0
    stages: Mapping[str, tuple[str, bool]] = field(default_factory=dict)  # id → (name, closed)
    pipelines: Mapping[str, str] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        id_property: str,
        statuses: Mapping[str, Outcome],
        catalog: Catalog | None,
        *,
        csat_property: str | None = None,
        csat_scale: float = 5.0,
    ) -> TicketReading:
        """A reading from the compiled mapping's parts and the catalog."""
        pipelines = catalog.pipelines if catalog else []
        return cls(
            id_property,
            {name.casefold(): outcome for name, outcome in statuses.items()},
            csat_property,
            csat_scale,
            {s.id: (s.name, s.closed) for p in pipelines for s in p.stages},
            {p.id: p.name for p in pipelines},
            {str(u.id): u.name for u in catalog.users} if catalog else {},
        )

    def properties(self) -> list[str]:
        """The ticket properties :func:`ticket_disposition` reads."""
        wanted = [
            facts.OBJECT_ID,
            facts.LAST_MODIFIED,
            facts.CREATED,
            facts.CLOSED_DATE,
            facts.PIPELINE,
            facts.STAGE,
            facts.OWNER,
            facts.TIME_TO_CLOSE,
            facts.TIME_TO_FIRST_REPLY,
            facts.MERGED_IDS,
            self.id_property,
        ]
        return [*wanted, self.csat_property] if self.csat_property else wanted

    def outcome(self, stage: str | None, closed_date: Any) -> tuple[Outcome, str | None]:
        """The outcome and the stage's name (the raw status)."""
        name, closed = self.stages.get(stage or "", (stage, bool(closed_date)))
        outcome = self.statuses.get((name or "").casefold())
        return outcome or ("resolved" if closed else "open"), name

    def is_closed(self, stage: str) -> bool:
        """Whether the catalog says ``stage`` is a closed one."""
        return self.stages.get(stage, ("", False))[1]


def ticket_disposition(
    ticket_id: str,
    props: Properties,
    reading: TicketReading,
    *,
    ticket_url: Callable[[str], str | None],
    source: Source,
    history: History | None = None,
    event_id: str | None = None,
) -> Disposition | None:
    """The disposition a ticket's properties describe; None when the ticket is not Baton's
    (no handoff id in the id property) or lacks a modification time."""
    handoff_id = props.get(reading.id_property)
    occurred_at = timestamp(props.get(facts.LAST_MODIFIED))
    if not (isinstance(handoff_id, str) and is_handoff_id(handoff_id)) or occurred_at is None:
        return None
    outcome, stage_name = reading.outcome(
        _text(props.get(facts.STAGE)), props.get(facts.CLOSED_DATE)
    )
    transfers, reopens = changes(history or {}, reading)
    if outcome in ("open", "pending"):
        outcome = "reopened" if reopens else "transferred" if transfers else outcome
    owner = _text(props.get(facts.OWNER))
    csat, csat_raw = (
        csat_value(props.get(reading.csat_property), reading.csat_scale)
        if reading.csat_property
        else (None, None)
    )
    try:
        return Disposition(
            handoff_id=handoff_id,
            platform=facts.PLATFORM,
            ticket_id=ticket_id,
            ticket_url=ticket_url(ticket_id),
            outcome=outcome,
            raw_status=(stage_name or "")[:256] or None,
            assignee=reading.owners.get(owner or "", owner),
            group=reading.pipelines.get(_text(props.get(facts.PIPELINE)) or ""),
            occurred_at=occurred_at,
            resolution_seconds=resolution_seconds(props) if outcome == "resolved" else None,
            first_response_seconds=_seconds(props.get(facts.TIME_TO_FIRST_REPLY)),
            reopen_count=reopens,
            transfer_count=transfers,
            csat=csat,
            csat_raw=csat_raw,
            source=source,
            event_id=event_id,
        )
    except pydantic.ValidationError:
        return None


def merged_dispositions(
    props: Properties, *, ticket_url: Callable[[str], str | None], source: Source
) -> list[Disposition]:
    """A ``merged`` disposition for every ticket merged into this one (``hs_merged_object_ids``);
    the store links each to its handoff through the ticket link, when Baton made it."""
    occurred_at = timestamp(props.get(facts.LAST_MODIFIED))
    merged = [m.strip() for m in str(props.get(facts.MERGED_IDS) or "").split(";") if m.strip()]
    if occurred_at is None:
        return []
    return [
        Disposition(
            platform=facts.PLATFORM,
            ticket_id=ticket_id[:64],
            ticket_url=ticket_url(ticket_id[:64]),
            outcome="merged",
            occurred_at=occurred_at,
            source=source,
        )
        for ticket_id in merged
        if ticket_id.isdigit()
    ]


def changes(history: History, reading: TicketReading) -> tuple[int, int]:
    """(transfers, reopens) from the owner, pipeline and stage histories (newest first)."""
    transfers = sum(
        max(0, len(_runs([v for v in _values(history.get(name)) if v])) - 1)
        for name in (facts.OWNER, facts.PIPELINE)
    )
    stages = _runs(list(_values(history.get(facts.STAGE))))
    reopens = sum(
        1
        for before, after in itertools.pairwise(stages)
        if reading.is_closed(before) and not reading.is_closed(after)
    )
    return transfers, reopens


def _values(entries: Sequence[Any] | None) -> list[str]:
    """The history's values, oldest first (HubSpot lists newest first)."""
    values = []
    for entry in entries or []:
        value = entry.get("value") if isinstance(entry, Mapping) else getattr(entry, "value", None)
        values.append(str(value) if value is not None else "")
    return values[::-1]


def _runs(values: list[str]) -> list[str]:
    """``values`` with repeats in a row folded (a write of the same value is no change)."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def resolution_seconds(props: Properties) -> int | None:
    """``time_to_close`` in seconds, else closed_date − createdate; None when unknown."""
    measured = _seconds(props.get(facts.TIME_TO_CLOSE))
    if measured is not None:
        return measured
    closed, created = timestamp(props.get(facts.CLOSED_DATE)), timestamp(props.get(facts.CREATED))
    if closed is None or created is None or closed < created:
        return None
    return int((closed - created).total_seconds())


def timestamp(value: Any) -> datetime | None:
    """A HubSpot date-time (ISO-8601, or epoch milliseconds as text) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.utcoffset() is not None else None
    text = str(value).strip()
    if text.isdigit():
        return _EPOCH + timedelta(milliseconds=int(text))
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None


def epoch_ms(when: datetime) -> int:
    """An aware datetime as epoch milliseconds (what search filters take)."""
    return (when - _EPOCH) // timedelta(milliseconds=1)


def _seconds(value: Any) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        milliseconds = float(text)
    except ValueError:
        return None
    return int(milliseconds // 1000) if milliseconds >= 0 else None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
