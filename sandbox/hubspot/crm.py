"""The portal's CRM: records of each object type, associations, pipelines and owners, and
the validation HubSpot applies to property values (the data it holds is in :mod:`.model`)."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from typing import Any

from baton.sandbox.clock import Clock
from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.errors import HubSpotError, fail, invalid_properties, not_found
from baton.sandbox.hubspot.history import close_times, emitted, record_changes
from baton.sandbox.hubspot.model import (
    OBJECT_TYPES,
    Emit,
    Json,
    Owner,
    Pipeline,
    PropertyDef,
    Record,
    Stage,
    epoch_ms,
    hs_time,
    object_type,
    other_properties,
    parse_time,
    ticket_properties,
)

__all__ = [
    "Crm",
    "Owner",
    "Pipeline",
    "PropertyDef",
    "Record",
    "Stage",
    "ensure_error",
    "epoch_ms",
    "hs_time",
    "object_type",
    "parse_time",
]


class Crm:
    """Records, schemas, associations, pipelines and owners behind one re-entrant lock."""

    def __init__(self, clock: Clock, emit: Emit) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._emit = emit
        self._ids = itertools.count(1_000_000_001)
        self.schema_created = clock()
        self.properties: dict[str, dict[str, PropertyDef]] = {
            "tickets": {p.name: p for p in ticket_properties()},
            **{t: {p.name: p for p in props} for t, props in other_properties().items()},
        }
        self.records: dict[str, dict[str, Record]] = {t: {} for t in OBJECT_TYPES}
        self.associations: dict[tuple[str, str, str, str], set[tuple[str, int]]] = {}
        self.pipelines: list[Pipeline] = []
        self.owners: list[Owner] = []

    # ---- ids, lookups ----------------------------------------------------------------------

    def new_id(self) -> str:
        """A fresh numeric record id."""
        return str(next(self._ids))

    def pipeline(self, wanted: str) -> Pipeline | None:
        """The pipeline with id or label ``wanted``."""
        for pipe in self.pipelines:
            if pipe.id == wanted or pipe.label.lower() == wanted.lower():
                return pipe
        return None

    def owner(self, wanted: str) -> Owner | None:
        """The owner with id, email or full name ``wanted``."""
        for owner in self.owners:
            full = f"{owner.first_name} {owner.last_name}".strip().lower()
            if wanted in (owner.id, owner.email) or wanted.lower() == full:
                return owner
        return None

    def live(self, object_type: str, object_id: str) -> Record:
        """The unarchived record (a merged id leads to its primary); 404 otherwise."""
        record = self.records[object_type].get(object_id)
        seen = 0
        while record is not None and record.merged_into is not None and seen < 100:
            record = self.records[object_type].get(record.merged_into)
            seen += 1
        if record is None or record.archived:
            raise not_found(object_type[:-1].capitalize(), object_id)
        return record

    def find_unique(self, object_type: str, name: str, value: str) -> Record | None:
        """The live record whose unique property ``name`` is ``value``."""
        for record in self.records[object_type].values():
            if record.archived or record.merged_into is not None:
                continue
            current = record.properties.get(name)
            if current is not None and current.lower() == value.lower():
                return record
        return None

    # ---- validation --------------------------------------------------------------------------

    def _options(self, object_type: str, prop: PropertyDef, record: Json) -> list[str] | None:
        if prop.name == "hs_pipeline" and object_type == "tickets":
            return [p.id for p in self.pipelines]
        if prop.name == "hs_pipeline_stage" and object_type == "tickets":
            pipe = self.pipeline(str(record.get("hs_pipeline") or facts.DEFAULT_PIPELINE))
            return [] if pipe is None else [s.id for s in pipe.stages]
        if prop.name == "hubspot_owner_id":
            return [o.id for o in self.owners]
        if prop.type == "enumeration" and prop.field_type != "checkbox":
            return [value for _, value in prop.options]
        return None

    def validate(
        self, object_type: str, values: Json, current: dict[str, str | None] | None = None
    ) -> dict[str, str | None]:
        """``values`` as stored strings; 400 VALIDATION_ERROR naming every bad one."""
        if not isinstance(values, dict):
            raise fail(400, facts.VALIDATION_ERROR, "properties must be an object")
        schema = self.properties[object_type]
        merged: Json = {**(current or {}), **values}
        problems: list[Json] = []
        clean: dict[str, str | None] = {}
        for name, raw in values.items():
            prop = schema.get(name)
            text = _text(raw)
            if prop is None:
                message = facts.PROPERTY_DOESNT_EXIST_MESSAGE.format(name=name)
                problems.append(_problem(name, message, facts.PROPERTY_DOESNT_EXIST))
                continue
            if prop.read_only:
                message = f"{name} is a read only property; its value cannot be set."
                problems.append(_problem(name, message, facts.READ_ONLY_VALUE))
                continue
            if text in (None, ""):
                clean[name] = None
                continue
            options = self._options(object_type, prop, merged)
            if options is not None and text not in options:
                shown = ", ".join(options)
                message = facts.INVALID_OPTION_MESSAGE.format(value=text, options=shown)
                problems.append(_problem(name, message, facts.INVALID_OPTION))
                continue
            if prop.type == "number" and not _is_number(text):
                message = f"{text} was not a valid number."
                problems.append(_problem(name, message, facts.INVALID_INTEGER))
                continue
            if prop.type in ("datetime", "date") and parse_time(text) is None:
                message = f"{text} was not a valid long or ISO-8601 date-time."
                problems.append(_problem(name, message, "INVALID_DATE"))
                continue
            clean[name] = text
        if problems:
            raise invalid_properties(problems)
        return clean

    def check_unique(
        self, object_type: str, values: dict[str, str | None], own: str | None
    ) -> None:
        """409 CONFLICT when a unique property's value is another live record's."""
        for name, value in values.items():
            prop = self.properties[object_type].get(name)
            if value is None or prop is None or not prop.has_unique_value:
                continue
            other = self.find_unique(object_type, name, value)
            if other is not None and other.id != own:
                if object_type == "contacts" and name == "email":
                    message = facts.CONTACT_EXISTS_MESSAGE.format(id=other.id)
                else:
                    message = facts.DUPLICATE_UNIQUE_MESSAGE.format(
                        object=object_type[:-1], name=name, value=value, id=other.id
                    )
                raise fail(409, facts.CONFLICT, message)

    # ---- writes ----------------------------------------------------------------------------

    def create(self, object_type: str, values: Json, source: str) -> Record:
        """Validate and create a record (tickets: subject and stage required, pipeline
        defaulted); emits the creation event."""
        with self.lock:
            values = dict(values)
            if object_type == "tickets":
                values.setdefault("hs_pipeline", facts.DEFAULT_PIPELINE)
            clean = self.validate(object_type, values)
            if object_type == "tickets":
                missing = [n for n in facts.TICKET_REQUIRED if not clean.get(n)]
                if missing:
                    problems = [
                        _problem(n, f"{n} is required", "REQUIRED_PROPERTY") for n in missing
                    ]
                    raise invalid_properties(problems)
            self.check_unique(object_type, clean, None)
            now = self.clock()
            record_id = self.new_id()
            props: dict[str, str | None] = {
                "hs_object_id": record_id,
                "createdate": hs_time(now),
                "hs_lastmodifieddate": hs_time(now),
                **{k: v for k, v in clean.items() if v is not None},
            }
            record = Record(record_id, object_type, props, now, now)
            self._stage_dates(record, {}, now)
            self.records[object_type][record_id] = record
            changed = record_changes(record, {}, now, source)
            self._emit(object_type, "creation", record, source=source)
            self._emit_changes(record, emitted(clean, changed), source)
            return record

    def update(self, object_type: str, object_id: str, values: Json, source: str) -> Record:
        """Validate and apply ``values``; emits a propertyChange per changed property."""
        with self.lock:
            record = self.live(object_type, object_id)
            clean = self.validate(object_type, values, record.properties)
            self.check_unique(object_type, clean, record.id)
            return self.write(record, clean, source)

    def write(self, record: Record, values: dict[str, str | None], source: str) -> Record:
        """Apply checked values (or ones HubSpot computes, read-only ones too): the stage
        dates follow, history is recorded, a propertyChange is emitted per changed property."""
        with self.lock:
            changed = {k: v for k, v in values.items() if record.properties.get(k) != v}
            if not changed:
                return record
            before = dict(record.properties)
            now = self.clock()
            record.properties.update(changed)
            record.properties["hs_lastmodifieddate"] = hs_time(now)
            record.updated = now
            self._stage_dates(record, before, now)
            self._emit_changes(
                record, emitted(changed, record_changes(record, before, now, source)), source
            )
            return record

    def _emit_changes(self, record: Record, names: list[str], source: str) -> None:
        for name in names:
            value = record.properties.get(name)
            self._emit(record.object_type, "propertyChange", record, name, value, source=source)

    def _stage_dates(self, record: Record, before: Json, now: datetime) -> None:
        if record.object_type != "tickets":
            return
        pipe = self.pipeline(str(record.properties.get("hs_pipeline") or ""))
        stage_id = record.properties.get("hs_pipeline_stage")
        stage = None if pipe is None or stage_id is None else pipe.stage(stage_id)
        if stage is None or before.get("hs_pipeline_stage") == stage_id:
            return
        record.properties.update(close_times(record, stage.closed, now))

    def archive(self, object_type: str, object_id: str, source: str) -> None:
        """Archive (DELETE): gone from reads and search; emits the deletion event."""
        with self.lock:
            record = self.live(object_type, object_id)
            now = self.clock()
            record.archived = True
            record.archived_at = now
            record.updated = now
            self._emit(object_type, "deletion", record, source=source)

    def restore(self, object_type: str, object_id: str, source: str) -> Record:
        """Bring an archived record back (the recycle bin); emits the restore event."""
        with self.lock:
            record = self.records[object_type].get(object_id)
            if record is None or not record.archived:
                raise not_found(object_type[:-1].capitalize(), object_id)
            now = self.clock()
            record.archived = False
            record.archived_at = None
            record.updated = now
            record.properties["hs_lastmodifieddate"] = hs_time(now)
            self._emit(object_type, "restore", record, source=source)
            return record

    def merge(self, object_type: str, primary_id: str, merged_id: str, source: str) -> Record:
        """Merge ``merged_id`` into ``primary_id``: the primary keeps its values and gains the
        other's empty ones and its associations; emits the merge event."""
        with self.lock:
            primary = self.live(object_type, primary_id)
            merged = self.live(object_type, merged_id)
            if primary.id == merged.id:
                raise fail(400, facts.VALIDATION_ERROR, "Cannot merge an object with itself")
            before, moved = dict(primary.properties), 0
            for name, value in merged.properties.items():
                prop = self.properties[object_type].get(name)
                movable = prop is not None and not prop.read_only and not prop.has_unique_value
                if value is not None and primary.properties.get(name) is None and movable:
                    primary.properties[name] = value
                    moved += 1
            ids = [
                i for i in (primary.properties.get(facts.MERGED_IDS_PROPERTY) or "").split(";") if i
            ]
            ids.append(merged.id)
            primary.properties[facts.MERGED_IDS_PROPERTY] = ";".join(ids)
            for key, types in list(self.associations.items()):
                if key[:2] == (object_type, merged.id):
                    self.associations.setdefault((object_type, primary.id, *key[2:]), set()).update(
                        types
                    )
                if key[2:] == (object_type, merged.id):
                    self.associations.setdefault((*key[:2], object_type, primary.id), set()).update(
                        types
                    )
            now = self.clock()
            merged.merged_into = primary.id
            primary.updated = now
            primary.properties["hs_lastmodifieddate"] = hs_time(now)
            record_changes(primary, before, now, source)
            self._emit(
                object_type,
                "merge",
                primary,
                merged_ids=[merged.id],
                number_moved=moved,
                source=source,
            )
            return primary

    # ---- associations ------------------------------------------------------------------------

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, types: list[Json]
    ) -> list[tuple[str, int]]:
        """Add labelled associations both ways; 400 for a type id that does not join the two
        object types, 404 for an unknown record."""
        with self.lock:
            self.live(from_type, from_id)
            self.live(to_type, to_id)
            added: list[tuple[str, int]] = []
            expected = facts.ASSOCIATION_TYPES.get((from_type, to_type))
            for spec in types:
                category = spec.get("associationCategory") if isinstance(spec, dict) else None
                type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
                if expected is None or category != facts.HUBSPOT_DEFINED or type_id != expected:
                    raise fail(
                        400,
                        facts.VALIDATION_ERROR,
                        f"{category} {type_id} is not a valid association type between"
                        f" {from_type} and {to_type}",
                    )
                added.append((str(category), int(expected)))
            reverse = facts.ASSOCIATION_TYPES.get((to_type, from_type))
            self.associations.setdefault((from_type, from_id, to_type, to_id), set()).update(added)
            if reverse is not None:
                self.associations.setdefault((to_type, to_id, from_type, from_id), set()).add(
                    (facts.HUBSPOT_DEFINED, reverse)
                )
            return added

    def default_type(self, from_type: str, to_type: str) -> int:
        """The HUBSPOT_DEFINED type id between two object types; 400 if there is none."""
        found = facts.ASSOCIATION_TYPES.get((from_type, to_type))
        if found is None:
            raise fail(
                400,
                facts.VALIDATION_ERROR,
                f"No default association between {from_type} and {to_type}",
            )
        return found

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove every association between the two records (both ways)."""
        with self.lock:
            self.associations.pop((from_type, from_id, to_type, to_id), None)
            self.associations.pop((to_type, to_id, from_type, from_id), None)

    def associated(
        self, from_type: str, from_id: str, to_type: str
    ) -> list[tuple[str, set[tuple[str, int]]]]:
        """(to id, types) of the live records of ``to_type`` associated with the record."""
        with self.lock:
            found = []
            for (ft, fid, tt, tid), types in sorted(self.associations.items()):
                if (ft, fid, tt) != (from_type, from_id, to_type) or not types:
                    continue
                other = self.records[to_type].get(tid)
                if other is not None and not other.archived and other.merged_into is None:
                    found.append((tid, set(types)))
            return found


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _problem(name: str, message: str, code: str) -> Json:
    return {"isValid": False, "message": message, "error": code, "name": name}


def ensure_error(exc: Exception) -> HubSpotError:
    """``exc`` if it is a ``HubSpotError``, else a 500 in HubSpot's shape."""
    if isinstance(exc, HubSpotError):
        return exc
    return fail(500, "INTERNAL_ERROR", "internal error")
