"""Property history (``propertiesWithHistory`` on object reads) and the ticket times HubSpot
computes itself (time to close, first agent reply)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.errors import fail
from baton.sandbox.hubspot.model import Json, Record, epoch_ms, hs_time

# Values HubSpot sets on every write: kept in the history, never sent as propertyChange events.
SYSTEM_PROPERTIES = frozenset({"hs_object_id", "createdate", "hs_lastmodifieddate"})


def record_changes(
    record: Record, before: Mapping[str, str | None], when: datetime, source: str
) -> list[str]:
    """Append to ``record.history`` each property whose value differs from ``before`` (a
    cleared one as ``""``), in the record's property order; the names changed."""
    changed = []
    for name, value in record.properties.items():
        if before.get(name) != value:
            record.history.setdefault(name, []).append((value or "", when, source))
            changed.append(name)
    return changed


def emitted(given: Iterable[str], changed: list[str]) -> list[str]:
    """The properties to send propertyChange events for: the written ones that changed (in
    their order), then those HubSpot computed (closed_date, the ticket times)."""
    written = [name for name in given if name in changed]
    computed = [n for n in changed if n not in written and n not in SYSTEM_PROPERTIES]
    return [*written, *computed]


def with_history(body: Json, record: Record, names: Any, known: Collection[str]) -> Json:
    """``body`` with ``propertiesWithHistory``: for each named property the record's type
    defines, its values newest first (``[]`` if never set); unknown names are ignored. No
    names: ``body`` unchanged."""
    if names is None or names == []:
        return body
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise fail(400, facts.VALIDATION_ERROR, "propertiesWithHistory must be a list of names")
    body["propertiesWithHistory"] = {
        name: [
            {
                "value": value,
                "timestamp": hs_time(when),
                "sourceType": facts.HISTORY_SOURCE_TYPES.get(source, source),
                "sourceId": None,
            }
            for value, when, source in reversed(record.history.get(name, []))
        ]
        for name in dict.fromkeys(names)
        if name in known or name in record.properties
    }
    return body


def _since_created(record: Record, when: datetime) -> str:
    return str(epoch_ms(when) - epoch_ms(record.created))


def close_times(record: Record, closed: bool, when: datetime) -> dict[str, str | None]:
    """closed_date and time_to_close (ms since createdate) for a ticket entering a closed
    stage at ``when``; both cleared when it enters an open one."""
    if not closed:
        return {"closed_date": None, facts.TIME_TO_CLOSE: None}
    return {"closed_date": hs_time(when), facts.TIME_TO_CLOSE: _since_created(record, when)}


def first_reply_times(record: Record, when: datetime) -> dict[str, str | None]:
    """first_agent_reply_date and time_to_first_agent_reply (ms since createdate) for an
    agent's reply at ``when``; nothing if the ticket already had a reply."""
    if record.properties.get(facts.FIRST_AGENT_REPLY_DATE):
        return {}
    return {
        facts.FIRST_AGENT_REPLY_DATE: hs_time(when),
        facts.TIME_TO_FIRST_AGENT_REPLY: _since_created(record, when),
    }
