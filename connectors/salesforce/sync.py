"""Salesforce sync pieces with no HTTP: the keyset cursor, the SOQL it asks, and the catalog.

The incremental read is a keyset over ``(SystemModstamp, Id)``::

    WHERE <ext> != null AND (SystemModstamp > :t OR (SystemModstamp = :t AND Id > :id))
    ORDER BY SystemModstamp, Id LIMIT n

so two cases with one modstamp are neither skipped nor read twice across pages and runs (S1).
The cursor also remembers where the last ``deleted/`` window ended.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.values import timestamp
from baton.core.catalog import Catalog, CatalogField, Entity, Option

Json = dict[str, Any]
_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


@dataclass(frozen=True)
class SyncCursor:
    """The last case read, ``(modstamp, case_id)``, and the end of the last deleted/ window.

    ``case_id`` is None before any case was read: the next query starts at ``modstamp``
    itself (``>=``).
    """

    modstamp: datetime
    case_id: str | None = None
    deleted_until: datetime | None = None

    def encode(self) -> str:
        """The cursor as the text the sync runner stores."""
        data = {"t": soql_datetime(self.modstamp), "id": self.case_id}
        if self.deleted_until is not None:
            data["d"] = soql_datetime(self.deleted_until)
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, text: str | None, since: datetime) -> SyncCursor:
        """A stored cursor; ``since`` when there is none (or it cannot be read)."""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls(since.astimezone(UTC))
        modstamp = timestamp(data.get("t"))
        case_id = data.get("id")
        if modstamp is None:
            return cls(since.astimezone(UTC))
        if not (isinstance(case_id, str) and _SALESFORCE_ID.match(case_id)):
            case_id = None
        return cls(modstamp, case_id, timestamp(data.get("d")))


def soql_datetime(when: datetime) -> str:
    """An unquoted SOQL datetime literal in UTC (milliseconds only when there are some)."""
    when = when.astimezone(UTC)
    if when.microsecond:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_text(value: str) -> str:
    """A quoted SOQL string literal (backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def api_name(name: str) -> str:
    """``name`` when it is a plain field API name; ValueError otherwise (no SOQL injection)."""
    if not _API_NAME.match(name):
        raise ValueError("not a field API name")
    return name


def changes_query(
    fields: Iterable[str], external_id_field: str, cursor: SyncCursor, limit: int
) -> str:
    """The keyset query for Baton's cases changed after ``cursor``."""
    t = soql_datetime(cursor.modstamp)
    if cursor.case_id is None:
        after = f"SystemModstamp >= {t}"
    else:
        after = (
            f"(SystemModstamp > {t} OR (SystemModstamp = {t} AND Id > {soql_text(cursor.case_id)}))"
        )
    columns = ", ".join(dict.fromkeys(api_name(f) for f in fields))
    return (
        f"SELECT {columns} FROM Case WHERE {api_name(external_id_field)} != null AND {after} "  # noqa: S608
        f"ORDER BY SystemModstamp, Id LIMIT {int(limit)}"
    )


def case_query(fields: Iterable[str], external_id_field: str, handoff_id: str) -> str:
    """The cases whose external-id field holds ``handoff_id`` (two are enough to conflict)."""
    columns = ", ".join(dict.fromkeys(api_name(f) for f in fields))
    return (
        f"SELECT {columns} FROM Case WHERE {api_name(external_id_field)} = "  # noqa: S608
        f"{soql_text(handoff_id)} LIMIT 2"
    )


def comments_query(case_id: str) -> str:
    """The bodies of a case's CaseComments (the note marker is looked for in them)."""
    if not _SALESFORCE_ID.match(case_id):
        raise ValueError("not a Salesforce id")
    return f"SELECT CommentBody FROM CaseComment WHERE ParentId = {soql_text(case_id)}"  # noqa: S608


def after(record: Json, cursor: SyncCursor) -> SyncCursor:
    """The cursor after ``record`` (unchanged when the record lacks its keys)."""
    modstamp = timestamp(record.get(facts.CASE_MODSTAMP))
    case_id = record.get(facts.CASE_ID)
    if modstamp is None or not isinstance(case_id, str):
        return cursor
    return SyncCursor(modstamp, case_id, cursor.deleted_until)


# ------------------------------------------------------------------------------ catalog

CATALOG_PICKLISTS = ("Priority", "Status", "Origin", "Type", "Reason")
QUEUES_QUERY = "SELECT Id, Name, DeveloperName FROM Group WHERE Type = 'Queue'"
USERS_QUERY = "SELECT Id, Name, Email FROM User WHERE IsActive = true AND UserType = 'Standard'"


def catalog_from(
    describe: Json,
    queues: Iterable[Json],
    users: Iterable[Json],
    *,
    source: str,
    refreshed_at: str,
) -> Catalog:
    """A catalog from Case's describe (its picklists, record types and custom fields), queues
    and active users — the shape of ``mappings/catalogs/salesforce.json``.

    CaseStatus's IsClosed has no place in that shape (an option is a name and a value): the
    connector reads each case's own IsClosed instead.
    """
    fields = [_field(f) for f in describe.get("fields") or [] if isinstance(f, dict) and _wanted(f)]
    record_types = [
        Option(name=r["name"], value=r["recordTypeId"])
        for r in describe.get("recordTypeInfos") or []
        if isinstance(r, dict)
        and isinstance(r.get("name"), str)
        and isinstance(r.get("recordTypeId"), str)
        and r.get("active", True)
        and not r.get("master")
    ]
    if record_types:
        fields.append(
            CatalogField(
                id="RecordTypeId", name="Record Type", type="reference", options=record_types
            )
        )
    return Catalog(
        platform=facts.PLATFORM,
        source=source,
        refreshed_at=refreshed_at,
        fields=fields,
        groups=[Entity(id=q["Id"], name=q["Name"]) for q in queues if _named(q)],
        users=[
            Entity(
                id=u["Id"],
                name=u["Name"],
                email=u.get("Email") if isinstance(u.get("Email"), str) else None,
            )
            for u in users
            if _named(u)
        ],
    )


def _wanted(field: Json) -> bool:
    name = field.get("name")
    if not isinstance(name, str) or not isinstance(field.get("label"), str):
        return False
    return name in CATALOG_PICKLISTS or (field.get("custom") is True and name.endswith("__c"))


def _field(field: Json) -> CatalogField:
    options = [
        Option(name=v["label"] if isinstance(v.get("label"), str) else v["value"], value=v["value"])
        for v in field.get("picklistValues") or []
        if isinstance(v, dict) and isinstance(v.get("value"), str) and v.get("active", True)
    ]
    name = field["label"]
    kind = str(field.get("type") or "string")
    return CatalogField(id=field["name"], name=name, type=kind, options=options)


def _named(row: Json) -> bool:
    return isinstance(row.get("Id"), str) and isinstance(row.get("Name"), str)
