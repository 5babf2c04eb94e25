"""The CRM REST resources: objects (tickets, contacts, notes, emails), batch upsert, merge and
search, routed here with the associations v4 (associations_api.py) and the pipelines, owners
and properties (portal_api.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.answer import (
    SOURCE,
    Answer,
    Json,
    Query,
    bad_request,
    batch_answer,
    batch_inputs,
    default_properties,
    flag,
    json_object,
    listed,
)
from baton.sandbox.hubspot.associations_api import AssociationResources
from baton.sandbox.hubspot.crm import Record, hs_time, object_type
from baton.sandbox.hubspot.errors import HubSpotError, fail
from baton.sandbox.hubspot.history import with_history
from baton.sandbox.hubspot.portal_api import PortalResources
from baton.sandbox.hubspot.search import search
from baton.sandbox.hubspot.state import HubSpotState


class CrmApi(PortalResources, AssociationResources):
    """Answers one request of the CRM API (auth and limits are checked before)."""

    def __init__(self, state: HubSpotState) -> None:
        self.state = state
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = []
        v3, v4 = "/crm/v3", "/crm/v4"
        obj = r"(?P<kind>[A-Za-z0-9_-]+)"
        self._add("POST", rf"{v3}/objects/{obj}/search", self.search)
        self._add("POST", rf"{v3}/objects/{obj}/batch/upsert", self.batch_upsert)
        self._add("POST", rf"{v3}/objects/{obj}/batch/read", self.batch_read)
        self._add("POST", rf"{v3}/objects/{obj}/batch/create", self.batch_create)
        self._add("POST", rf"{v3}/objects/{obj}/merge", self.merge)
        self._add("GET", rf"{v3}/objects/{obj}", self.list_objects)
        self._add("POST", rf"{v3}/objects/{obj}", self.create)
        self._add("GET", rf"{v3}/objects/{obj}/(?P<oid>[^/]+)", self.read)
        self._add("PATCH", rf"{v3}/objects/{obj}/(?P<oid>[^/]+)", self.update)
        self._add("DELETE", rf"{v3}/objects/{obj}/(?P<oid>[^/]+)", self.archive)
        self._add("GET", rf"{v3}/pipelines/{obj}", self.pipelines)
        self._add("GET", rf"{v3}/pipelines/{obj}/(?P<pid>[^/]+)", self.pipeline)
        self._add("GET", rf"{v3}/pipelines/{obj}/(?P<pid>[^/]+)/stages", self.stages)
        self._add("GET", rf"{v3}/owners/?", self.owners)
        self._add("GET", rf"{v3}/owners/(?P<owner>[^/]+)", self.owner)
        self._add("GET", rf"{v3}/properties/{obj}", self.property_list)
        self._add("GET", rf"{v3}/properties/{obj}/(?P<name>[^/]+)", self.property_read)
        assoc = rf"{v4}/objects/{obj}/(?P<oid>[^/]+)/associations"
        self._add("PUT", rf"{assoc}/default/(?P<to>[^/]+)/(?P<tid>[^/]+)", self.associate_default)
        self._add("PUT", rf"{assoc}/(?P<to>[^/]+)/(?P<tid>[^/]+)", self.associate)
        self._add("DELETE", rf"{assoc}/(?P<to>[^/]+)/(?P<tid>[^/]+)", self.dissociate)
        self._add("GET", rf"{assoc}/(?P<to>[^/]+)", self.associations)
        self._add("GET", rf"{v4}/associations/{obj}/(?P<to>[^/]+)/labels", self.labels)
        self._add(
            "POST",
            rf"{v4}/associations/{obj}/(?P<to>[^/]+)/batch/associate/default",
            self.associate_default_batch,
        )
        self._add("POST", rf"{v4}/associations/{obj}/(?P<to>[^/]+)/batch/read", self.batch_read_to)

    def _add(self, method: str, pattern: str, handler: Callable[..., Answer]) -> None:
        self._routes.append((method, re.compile(pattern + "$"), handler))

    def is_search(self, method: str, path: str) -> bool:
        """Whether the request is a CRM search (its own per-second limit)."""
        return method == "POST" and path.endswith("/search")

    def handle(self, method: str, path: str, query: Query, body: Any) -> Answer:
        """Route and answer; HubSpotError for a refusal."""
        allowed = False
        for verb, pattern, handler in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            if verb != method:
                allowed = True
                continue
            return handler(query=query, body=body, **match.groupdict())
        if allowed:
            raise fail(405, "METHOD_NOT_ALLOWED", f"HTTP {method} is not supported by {path}")
        raise fail(404, facts.OBJECT_NOT_FOUND, f"No route for {method} {path}")

    # ---- objects -----------------------------------------------------------------------------

    def _lookup(self, kind: str, oid: str, query: Query) -> Record:
        id_property = (query.get("idProperty") or [""])[0]
        if id_property and id_property != "hs_object_id":
            self._unique(kind, id_property)
            found = self.state.find_unique(kind, id_property, oid)
            if found is None:
                raise fail(404, facts.OBJECT_NOT_FOUND, f"No {kind[:-1]} with {id_property}={oid}")
            return found
        return self.state.live(kind, oid)

    def _unique(self, kind: str, name: str) -> None:
        prop = self.state.properties[kind].get(name)
        if prop is None or not prop.has_unique_value:
            raise bad_request(f"{name} is not a unique identifier property of {kind}")

    def _shown(self, record: Record, query: Query) -> Json:
        names = listed(query) or list(default_properties(record.object_type))
        body = record.describe(list(dict.fromkeys([*names, *facts.ALWAYS_RETURNED])))
        for to in listed(query, "associations"):
            to_kind = object_type(to)
            found = self.state.associated(record.object_type, record.id, to_kind)
            body.setdefault("associations", {})[to_kind] = {
                "results": [
                    {"id": tid, "type": f"{record.object_type[:-1]}_to_{to_kind[:-1]}"}
                    for tid, _ in found
                ]
            }
        known = self.state.properties[record.object_type]
        return with_history(body, record, listed(query, "propertiesWithHistory"), known)

    def list_objects(self, kind: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        limit = int((query.get("limit") or ["10"])[0])
        after = int((query.get("after") or ["0"])[0] or 0)
        archived = flag(query, "archived")
        with self.state.lock:
            rows = sorted(
                (
                    r
                    for r in self.state.records[kind].values()
                    if r.archived == archived and r.merged_into is None
                ),
                key=lambda r: int(r.id),
            )
            page = [r for r in rows if int(r.id) > after][: max(1, min(limit, 100))]
            answer: Json = {"results": [self._shown(r, query) for r in page]}
            if page and int(page[-1].id) < int(rows[-1].id):
                answer["paging"] = {"next": {"after": str(int(page[-1].id))}}
        return Answer(200, answer)

    def read(self, kind: str, oid: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        with self.state.lock:
            if flag(query, "archived"):
                record = self.state.records[kind].get(oid)
                if record is None or not record.archived:
                    raise fail(404, facts.OBJECT_NOT_FOUND, f"No archived {kind[:-1]} {oid}")
            else:
                record = self._lookup(kind, oid, query)
            return Answer(200, self._shown(record, query))

    def _check_associations(self, kind: str, items: Any) -> list[tuple[str, str, list[Json]]]:
        if items is None:
            return []
        if not isinstance(items, list):
            raise bad_request("associations must be a list")
        planned = []
        for item in items:
            to = item.get("to") if isinstance(item, dict) else None
            types = item.get("types") if isinstance(item, dict) else None
            if not isinstance(to, dict) or "id" not in to or not isinstance(types, list):
                raise bad_request("each association needs to.id and types")
            to_id = str(to["id"])
            to_kind = self._kind_of(to_id, types, kind)
            self.state.live(to_kind, to_id)
            planned.append((to_kind, to_id, types))
        return planned

    def _kind_of(self, to_id: str, types: list[Any], kind: str) -> str:
        """The object type the association points at, from its type id."""
        for spec in types:
            type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
            for (source, target), known in facts.ASSOCIATION_TYPES.items():
                if source == kind and known == type_id:
                    return target
        raise bad_request(f"invalid association type for {kind} to object {to_id}: {types}")

    def create(self, kind: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        data = json_object(body)
        with self.state.lock:
            planned = self._check_associations(kind, data.get("associations"))
            record = self.state.create(kind, data.get("properties") or {}, SOURCE)
            for to_kind, to_id, types in planned:
                self.state.associate(kind, record.id, to_kind, to_id, types)
            return Answer(201, record.describe())

    def update(self, kind: str, oid: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        data = json_object(body)
        with self.state.lock:
            record = self._lookup(kind, oid, query)
            record = self.state.update(kind, record.id, data.get("properties") or {}, SOURCE)
            return Answer(200, record.describe())

    def archive(self, kind: str, oid: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        with self.state.lock:
            record = self.state.records[kind].get(oid)
            if record is None or record.archived:
                return Answer(204)  # archiving is idempotent (UNCONFIRMED)
            self.state.archive(kind, oid, SOURCE)
        return Answer(204)

    def merge(self, kind: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        data = json_object(body)
        primary, other = data.get("primaryObjectId"), data.get("objectIdToMerge")
        if primary is None or other is None:
            raise bad_request("primaryObjectId and objectIdToMerge are required")
        record = self.state.merge(kind, str(primary), str(other), SOURCE)
        return Answer(200, record.describe())

    def batch_read(self, kind: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        data = json_object(body)
        inputs = data.get("inputs") or []
        if len(inputs) > facts.BATCH_MAX_INPUTS:
            raise bad_request(f"at most {facts.BATCH_MAX_INPUTS} inputs are allowed")
        names = data.get("properties") or list(default_properties(kind))
        id_property = data.get("idProperty")
        started = hs_time(self.state.clock())
        results, errors = [], []
        with self.state.lock:
            for item in inputs:
                oid = str(item.get("id")) if isinstance(item, dict) else ""
                lookup: Query = {"idProperty": [id_property]} if id_property else {}
                try:
                    record = self._lookup(kind, oid, lookup)
                except HubSpotError as exc:
                    errors.append({**exc.body, "context": {"ids": [oid]}})
                    continue
                row = record.describe([*names, *facts.ALWAYS_RETURNED])
                known = self.state.properties[kind]
                results.append(with_history(row, record, data.get("propertiesWithHistory"), known))
        return self._batch(results, errors, started)

    def _batch(self, results: list[Json], errors: list[Json], started: str) -> Answer:
        return batch_answer(results, errors, started, hs_time(self.state.clock()))

    def batch_upsert(self, kind: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        inputs = batch_inputs(body)
        seen: set[tuple[str, str]] = set()
        for item in inputs:
            if not isinstance(item, dict) or "id" not in item:
                raise bad_request("each input needs an id")
            id_property = str(item.get("idProperty") or "")
            self._unique(kind, id_property)
            key = (id_property, str(item["id"]).lower())
            if key in seen:
                raise bad_request(f"Duplicate IDs found in batch input: {item['id']}")
            seen.add(key)
        started = hs_time(self.state.clock())
        results, errors = [], []
        with self.state.lock:
            for item in inputs:
                id_property, value = str(item["idProperty"]), str(item["id"])
                values = dict(item.get("properties") or {})
                try:
                    existing = self.state.find_unique(kind, id_property, value)
                    if existing is None:
                        values[id_property] = value
                        record = self.state.create(kind, values, SOURCE)
                    else:
                        record = self.state.update(kind, existing.id, values, SOURCE)
                except HubSpotError as exc:
                    errors.append({**exc.body, "context": {"ids": [value]}})
                    continue
                row = {**record.describe(), "new": existing is None}
                if item.get("objectWriteTraceId"):
                    row["objectWriteTraceId"] = item["objectWriteTraceId"]
                results.append(row)
        return self._batch(results, errors, started)

    def batch_create(self, kind: str, query: Query, body: Any) -> Answer:
        """Up to 100 records, each with its inline associations; 201, or 207 with the rows
        refused. ``objectWriteTraceId`` is echoed on each row made and in each error's
        context."""
        kind = object_type(kind)
        inputs = batch_inputs(body)
        started = hs_time(self.state.clock())
        results, errors = [], []
        with self.state.lock:
            for item in inputs:
                item = item if isinstance(item, dict) else {}
                trace = item.get("objectWriteTraceId")
                try:
                    planned = self._check_associations(kind, item.get("associations"))
                    record = self.state.create(kind, item.get("properties") or {}, SOURCE)
                except HubSpotError as exc:
                    errors.append({**exc.body, "context": {"objectWriteTraceId": [trace]}})
                    continue
                for to_kind, to_id, types in planned:
                    self.state.associate(kind, record.id, to_kind, to_id, types)
                row = record.describe()
                if trace:
                    row["objectWriteTraceId"] = trace
                results.append(row)
        answer = self._batch(results, errors, started)
        return answer if errors else Answer(201, answer.body)

    def search(self, kind: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        return Answer(200, search(self.state, kind, body, default_properties(kind)))
