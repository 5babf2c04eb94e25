"""Associations v4 batch read: ``POST /crm/v4/associations/{from}/{to}/batch/read``.

From HubSpot's public OpenAPI spec (CRM, Associations v4, "Retrieve associations"): the body is
``{inputs: [{id, after?}]}``; the answer ``{status, results: [{from: {id}, to: [{toObjectId,
associationTypes: [{category, typeId, label}]}], paging?}], startedAt, completedAt}``, 207 with
``errors`` beside the results when some inputs failed. "The 'paging' field will only be present
if there are more pages": its ``next.after`` goes back in that input's ``after``.
"""

from __future__ import annotations

from typing import Any

from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.answer import Answer, Json, bad_request, batch_answer, batch_inputs
from baton.sandbox.hubspot.crm import hs_time, object_type
from baton.sandbox.hubspot.errors import HubSpotError
from baton.sandbox.hubspot.state import HubSpotState


def batch_read_associations(state: HubSpotState, kind: str, to: str, body: Any) -> Answer:
    """Each input's associations to ``to`` objects, a page of them per input."""
    kind, to = object_type(kind), object_type(to)
    inputs = batch_inputs(body, facts.ASSOCIATION_BATCH_MAX_INPUTS)
    started = hs_time(state.clock())
    results: list[Json] = []
    errors: list[Json] = []
    with state.lock:
        for item in inputs:
            oid = str(item.get("id", "")) if isinstance(item, dict) else ""
            try:
                state.live(kind, oid)
            except HubSpotError as exc:
                errors.append({**exc.body, "context": {"fromId": [oid]}})
                continue
            start = _offset(item.get("after"))
            found = state.associated(kind, oid, to)
            end = start + facts.ASSOCIATIONS_PAGE_SIZE
            row: Json = {
                "from": {"id": oid},
                "to": [
                    {
                        "toObjectId": int(tid),
                        "associationTypes": [
                            {"category": category, "typeId": type_id, "label": None}
                            for category, type_id in sorted(types)
                        ],
                    }
                    for tid, types in found[start:end]
                ],
            }
            if end < len(found):
                row["paging"] = {"next": {"after": str(end)}}
            results.append(row)
    return batch_answer(results, errors, started, hs_time(state.clock()))


def _offset(after: Any) -> int:
    if after is None:
        return 0
    text = str(after)
    if not text.isdigit():
        raise bad_request(f"invalid after: {text[:40]}")
    return int(text)
