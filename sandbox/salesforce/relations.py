"""Child-to-parent relationship fields in SOQL: ``CreatedBy.Name``, ``Parent.Subject``.

SOQL and SOSL Reference, "Understanding Relationship Names" and "Using Relationship Queries":
a child-to-parent relationship is traversed with the dot operator in SELECT and WHERE; its name
is the foreign key's without "Id" (CreatedById → CreatedBy, ParentId → Parent, OwnerId →
Owner). REST answers a selected relationship as a nested record carrying its own
``attributes`` and the selected fields, or null when the reference is null.

The sandbox follows one level (``Relationship.Field``); the relationship's target is the
reference field's ``reference_to`` (a polymorphic one, such as Owner, is whichever object holds
the id). A path it cannot follow is INVALID_FIELD (its message UNCONFIRMED, in ``facts``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Protocol

from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.errors import fail
from baton.sandbox.salesforce.schema import FieldSpec, wire

Json = dict[str, Any]


class Records(Protocol):
    """The org's record look-up."""

    def record(self, sobject: str, record_id: str) -> Json | None: ...  # pragma: no cover


def relationship_specs(
    sobject: str, names: Iterable[str], schemas: dict[str, dict[str, FieldSpec]]
) -> dict[str, FieldSpec]:
    """Specs, by folded path, for the dotted ``names`` of a query on ``sobject``: each the
    target field's spec renamed to the path as written canonically (``CreatedBy.Name``)."""
    own = {name.casefold(): spec for name, spec in schemas[sobject].items()}
    found: dict[str, FieldSpec] = {}
    for path in names:
        if "." not in path:
            continue
        relation, _, name = path.partition(".")
        reference = own.get(relation.casefold() + "id")
        targets = reference.reference_to if reference and reference.type == "reference" else []
        if "." in name or not targets:
            raise _unknown(relation)
        wanted = name.casefold()
        fields = (spec for t in targets for n, spec in schemas[t].items() if n.casefold() == wanted)
        target = next(fields, None)
        if target is None:
            message = facts.INVALID_FIELD_MESSAGE.format(field=path, sobject=sobject)
            raise fail(400, facts.INVALID_FIELD, message)
        canonical = f"{reference.name[:-2] if reference else relation}.{target.name}"
        found[path.casefold()] = replace(target, name=canonical)
    return found


def expanded(
    rows: list[Json], sobject: str, specs: dict[str, FieldSpec], org: Records, schemas: Any
) -> list[Json]:
    """``rows`` with each relationship path's value added under its path (copies; the rows
    themselves when the query has none)."""
    paths = [spec.name for spec in specs.values() if "." in spec.name]
    if not paths:
        return rows
    out = []
    for row in rows:
        row = dict(row)
        for path in paths:
            parent = _parent(row, path.split(".")[0], sobject, org, schemas)
            row[path] = None if parent is None else parent[1].get(path.split(".")[1])
        out.append(row)
    return out


def nested(
    row: Json, names: list[str], sobject: str, org: Records, schemas: Any, version: str
) -> Json:
    """The selected relationship paths of ``row`` as REST writes them: one nested record per
    relationship (``attributes`` and its selected fields), or null."""
    out: Json = {}
    for path in names:
        if "." not in path:
            continue
        relation, _, name = path.partition(".")
        parent = _parent(row, relation, sobject, org, schemas)
        if parent is None:
            out[relation] = None
            continue
        target, record = parent
        holder = out.get(relation)
        if holder is None:
            url = f"/services/data/v{version}/sobjects/{target}/{record['Id']}"
            holder = out[relation] = {"attributes": {"type": target, "url": url}}
        holder[name] = wire(record.get(name))
    return out


def _parent(
    row: Json, relation: str, sobject: str, org: Records, schemas: Any
) -> tuple[str, Json] | None:
    reference = schemas[sobject][relation + "Id"]
    value = row.get(reference.name)
    if not isinstance(value, str):
        return None
    for target in reference.reference_to:
        record = org.record(target, value)
        if record is not None:
            return target, record
    return None


def _unknown(relation: str) -> Exception:
    message = facts.UNKNOWN_RELATIONSHIP_MESSAGE.format(relation=relation)
    return fail(400, facts.INVALID_FIELD, message)
