"""The objects the sandbox serves (Case, CaseComment, CaseHistory, Group, User): their fields,
how a field's value is written out, and the ``describe`` of Case."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from baton.core.catalog import Catalog
from baton.sandbox.salesforce import facts

Json = dict[str, Any]


@dataclass
class FieldSpec:
    """One field of an object, as ``describe`` shows it and writes are checked against."""

    name: str
    type: str  # id, string, textarea, email, phone, picklist, reference, boolean, datetime, double
    label: str
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    picklist: list[str] = field(default_factory=list)
    closed_values: set[str] = field(default_factory=set)  # Status values with IsClosed
    restricted: bool = False
    external_id: bool = False
    unique: bool = False
    reference_to: list[str] = field(default_factory=list)

    def describe(self) -> Json:
        """The field as ``sobjects/Case/describe`` lists it."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "createable": self.createable,
            "updateable": self.updateable,
            "nillable": self.nillable,
            "externalId": self.external_id,
            "unique": self.unique,
            "custom": self.name.endswith("__c"),
            "restrictedPicklist": self.restricted,
            "referenceTo": list(self.reference_to),
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": False,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklist
            ],
        }


def _read_only(name: str, kind: str, label: str) -> FieldSpec:
    return FieldSpec(name, kind, label, createable=False, updateable=False)


def _user_reference(name: str, label: str) -> FieldSpec:
    spec = _read_only(name, "reference", label)
    spec.reference_to = ["User"]
    return spec


def _system_fields() -> list[FieldSpec]:
    return [
        _read_only("Id", "id", "Case ID"),
        _read_only("IsDeleted", "boolean", "Deleted"),
        _read_only("CreatedDate", "datetime", "Created Date"),
        _user_reference("CreatedById", "Created By ID"),
        _read_only("LastModifiedDate", "datetime", "Last Modified Date"),
        _user_reference("LastModifiedById", "Last Modified By ID"),
        _read_only("SystemModstamp", "datetime", "System Modstamp"),
    ]


CLOSED_STATUS_NAMES = {"closed"}  # a catalog Status option named so counts as IsClosed


def case_fields(catalog: Catalog | None, external_id_field: str) -> dict[str, FieldSpec]:
    """Case's fields: the standard ones, picklists from the catalog, its custom fields."""
    specs = [
        *_system_fields(),
        FieldSpec("CaseNumber", "string", "Case Number", 30, createable=False, updateable=False),
        FieldSpec("Subject", "string", "Subject", facts.SUBJECT_MAX),
        FieldSpec("Description", "textarea", "Description", facts.DESCRIPTION_MAX),
        FieldSpec("OwnerId", "reference", "Owner ID", 18, reference_to=["Group", "User"]),
        FieldSpec("SuppliedName", "string", "Name", 80),
        FieldSpec("SuppliedEmail", "email", "Email Address", 80),
        FieldSpec("SuppliedPhone", "phone", "Phone", 40),
        FieldSpec("SuppliedCompany", "string", "Company", 80),
        FieldSpec("IsEscalated", "boolean", "Escalated", nillable=False),
        _read_only("IsClosed", "boolean", "Closed"),
        _read_only("ClosedDate", "datetime", "Closed Date"),
    ]
    by_name = {spec.name: spec for spec in specs}
    for entry in catalog.fields if catalog else []:
        name = str(entry.id)
        values = [option.value for option in entry.options]
        if entry.type == "picklist":
            spec = FieldSpec(
                name,
                "picklist",
                entry.name,
                255,
                picklist=values,
                restricted=facts.ALL_PICKLISTS_RESTRICTED,
            )
            if name == "Status":
                spec.nillable = False
                spec.closed_values = {v for v in values if v.casefold() in CLOSED_STATUS_NAMES}
        elif entry.type in ("double", "number", "currency", "percent"):
            spec = FieldSpec(name, "double", entry.name)
        elif entry.type in ("boolean", "checkbox"):
            spec = FieldSpec(name, "boolean", entry.name, nillable=False)
        else:
            spec = FieldSpec(name, "string", entry.name, facts.CUSTOM_TEXT_LENGTH)
        by_name[name] = spec
    ext = by_name.get(external_id_field)
    if ext is None:
        ext = FieldSpec(external_id_field, "string", external_id_field, facts.CUSTOM_TEXT_LENGTH)
        by_name[external_id_field] = ext
    ext.external_id = True
    ext.unique = True
    return by_name


def comment_fields() -> dict[str, FieldSpec]:
    """CaseComment's fields."""
    specs = [
        *_system_fields(),
        FieldSpec(
            "ParentId",
            "reference",
            "Parent ID",
            18,
            updateable=False,
            nillable=False,
            reference_to=["Case"],
        ),
        FieldSpec("CommentBody", "textarea", "Body", facts.COMMENT_MAX_BYTES),
        FieldSpec("IsPublished", "boolean", "Published", nillable=False),
    ]
    return {spec.name: spec for spec in specs}


def history_fields() -> dict[str, FieldSpec]:
    """CaseHistory's fields (Object Reference, CaseHistory; always read-only)."""
    names = [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("CaseId", "reference"),
        ("CreatedById", "reference"),
        ("CreatedDate", "datetime"),
        ("DataType", "picklist"),
        ("Field", "picklist"),
        ("OldValue", "anyType"),
        ("NewValue", "anyType"),
    ]
    return {n: _read_only(n, t, n) for n, t in names}


def group_fields() -> dict[str, FieldSpec]:
    """Group's fields (read-only here)."""
    names = [
        ("Id", "id"),
        ("Name", "string"),
        ("DeveloperName", "string"),
        ("Type", "picklist"),
        ("Email", "email"),
        ("CreatedDate", "datetime"),
        ("SystemModstamp", "datetime"),
    ]
    return {n: _read_only(n, t, n) for n, t in names}


def user_fields() -> dict[str, FieldSpec]:
    """User's fields (read-only here)."""
    names = [
        ("Id", "id"),
        ("Name", "string"),
        ("Username", "string"),
        ("Email", "email"),
        ("IsActive", "boolean"),
        ("UserType", "picklist"),
        ("CreatedDate", "datetime"),
        ("SystemModstamp", "datetime"),
    ]
    return {n: _read_only(n, t, n) for n, t in names}


def sf_datetime(when: datetime | None) -> str | None:
    """A datetime as the REST API writes it: ``2013-05-20T20:49:32.000+0000``."""
    if when is None:
        return None
    utc = when.astimezone(UTC)
    return utc.strftime(facts.DATETIME_FORMAT).format(ms=f"{utc.microsecond // 1000:03d}")


def wire(value: Any) -> Any:
    """A stored value as JSON."""
    return sf_datetime(value) if isinstance(value, datetime) else value


def describe(fields: dict[str, FieldSpec], name: str, version: str) -> Json:
    """An object's ``describe``: its name, its fields and its URLs."""
    base = f"/services/data/v{version}/sobjects/{name}"
    return {
        "name": name,
        "label": name,
        "custom": False,
        "createable": True,
        "updateable": True,
        "queryable": True,
        "fields": [spec.describe() for spec in fields.values()],
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }
