"""The CRM's associations v4 resources: associate (default or labelled, one or a batch),
dissociate, list, the labels, and the batch read (:mod:`.association_reads`)."""

from __future__ import annotations

from typing import Any

from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.answer import (
    Answer,
    Json,
    Query,
    bad_request,
    batch_answer,
    batch_inputs,
)
from baton.sandbox.hubspot.association_reads import batch_read_associations
from baton.sandbox.hubspot.crm import hs_time, object_type
from baton.sandbox.hubspot.errors import HubSpotError
from baton.sandbox.hubspot.state import HubSpotState


class AssociationResources:
    """``/crm/v4/objects/{kind}/{id}/associations/…`` and ``/crm/v4/associations/…`` (CrmApi
    routes them)."""

    state: HubSpotState

    def _batch(self, results: list[Json], errors: list[Json], started: str) -> Answer:
        return batch_answer(results, errors, started, hs_time(self.state.clock()))

    def associate(self, kind: str, oid: str, to: str, tid: str, query: Query, body: Any) -> Answer:
        kind, to = object_type(kind), object_type(to)
        if not isinstance(body, list):
            raise bad_request("the body must be a list of {associationCategory, associationTypeId}")
        self.state.associate(kind, oid, to, tid, body)
        return Answer(
            201,
            {
                "fromObjectTypeId": facts.OBJECT_TYPE_IDS[kind],
                "fromObjectId": int(oid),
                "toObjectTypeId": facts.OBJECT_TYPE_IDS[to],
                "toObjectId": int(tid),
                "labels": [],
            },
        )

    def associate_default(
        self, kind: str, oid: str, to: str, tid: str, query: Query, body: Any
    ) -> Answer:
        kind, to = object_type(kind), object_type(to)
        started = hs_time(self.state.clock())
        type_id = self.state.default_type(kind, to)
        spec = {"associationCategory": facts.HUBSPOT_DEFINED, "associationTypeId": type_id}
        self.state.associate(kind, oid, to, tid, [spec])
        row = {
            "from": {"id": oid},
            "to": {"id": tid},
            "associationSpec": {
                "associationCategory": facts.HUBSPOT_DEFINED,
                "associationTypeId": type_id,
            },
        }
        return self._batch([row], [], started)

    def associate_default_batch(self, kind: str, to: str, query: Query, body: Any) -> Answer:
        """``{inputs: [{from: {id}, to: {id}}]}``: each pair's default association; 200, or
        207 with the pairs whose records do not exist."""
        kind, to = object_type(kind), object_type(to)
        inputs = batch_inputs(body)
        started = hs_time(self.state.clock())
        results, errors = [], []
        for item in inputs:
            pair = item if isinstance(item, dict) else {}
            oid = str((pair.get("from") or {}).get("id", ""))
            tid = str((pair.get("to") or {}).get("id", ""))
            try:
                answer = self.associate_default(kind, oid, to, tid, query, None)
            except HubSpotError as exc:
                errors.append({**exc.body, "context": {"fromId": [oid], "toId": [tid]}})
                continue
            results += answer.body["results"]
        return self._batch(results, errors, started)

    def dissociate(self, kind: str, oid: str, to: str, tid: str, query: Query, body: Any) -> Answer:
        self.state.dissociate(object_type(kind), oid, object_type(to), tid)
        return Answer(204)

    def associations(self, kind: str, oid: str, to: str, query: Query, body: Any) -> Answer:
        kind, to = object_type(kind), object_type(to)
        with self.state.lock:
            self.state.live(kind, oid)
            found = self.state.associated(kind, oid, to)
        return Answer(
            200,
            {
                "results": [
                    {
                        "toObjectId": int(tid),
                        "associationTypes": [
                            {"category": category, "typeId": type_id, "label": None}
                            for category, type_id in sorted(types)
                        ],
                    }
                    for tid, types in found
                ]
            },
        )

    def labels(self, kind: str, to: str, query: Query, body: Any) -> Answer:
        kind, to = object_type(kind), object_type(to)
        type_id = facts.ASSOCIATION_TYPES.get((kind, to))
        results = (
            []
            if type_id is None
            else [{"category": facts.HUBSPOT_DEFINED, "typeId": type_id, "label": None}]
        )
        return Answer(200, {"results": results})

    def batch_read_to(self, kind: str, to: str, query: Query, body: Any) -> Answer:
        """``{inputs: [{id, after?}]}``: each input's associations (see association_reads)."""
        return batch_read_associations(self.state, kind, to, body)
