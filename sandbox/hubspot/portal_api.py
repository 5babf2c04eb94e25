"""The portal's schema resources: pipelines and stages, owners, and object properties."""

from __future__ import annotations

from typing import Any

from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.answer import Answer, Json, Query, bad_request
from baton.sandbox.hubspot.crm import hs_time, object_type
from baton.sandbox.hubspot.errors import fail
from baton.sandbox.hubspot.state import HubSpotState


class PortalResources:
    """``/crm/v3/pipelines``, ``/crm/v3/owners`` and ``/crm/v3/properties`` (CrmApi routes
    them)."""

    state: HubSpotState

    def _pipeline_body(self, index: int) -> Json:
        pipe = self.state.pipelines[index]
        stamp = hs_time(self.state.schema_created)
        return {
            "id": pipe.id,
            "label": pipe.label,
            "displayOrder": index,
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "stages": [self._stage_body(s, i, stamp) for i, s in enumerate(pipe.stages)],
        }

    @staticmethod
    def _stage_body(stage: Any, order: int, stamp: str) -> Json:
        state = "CLOSED" if stage.closed else "OPEN"
        return {
            "id": stage.id,
            "label": stage.label,
            "displayOrder": order,
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            "metadata": {"ticketState": state, "isClosed": "true" if stage.closed else "false"},
        }

    def _tickets_only(self, kind: str) -> None:
        if object_type(kind) != "tickets":
            raise bad_request(f"pipelines of {kind} are not emulated by the sandbox")

    def pipelines(self, kind: str, query: Query, body: Any) -> Answer:
        self._tickets_only(kind)
        return Answer(
            200, {"results": [self._pipeline_body(i) for i in range(len(self.state.pipelines))]}
        )

    def _pipeline_index(self, pid: str) -> int:
        for i, pipe in enumerate(self.state.pipelines):
            if pipe.id == pid:
                return i
        raise fail(404, facts.OBJECT_NOT_FOUND, f"Unable to find pipeline {pid}")

    def pipeline(self, kind: str, pid: str, query: Query, body: Any) -> Answer:
        self._tickets_only(kind)
        return Answer(200, self._pipeline_body(self._pipeline_index(pid)))

    def stages(self, kind: str, pid: str, query: Query, body: Any) -> Answer:
        self._tickets_only(kind)
        return Answer(200, {"results": self._pipeline_body(self._pipeline_index(pid))["stages"]})

    def _owner_body(self, owner: Any) -> Json:
        stamp = hs_time(self.state.schema_created)
        return {
            "id": owner.id,
            "email": owner.email,
            "type": "PERSON",
            "firstName": owner.first_name,
            "lastName": owner.last_name,
            "userId": owner.user_id,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "teams": [],
        }

    def owners(self, query: Query, body: Any) -> Answer:
        email = (query.get("email") or [""])[0]
        found = [o for o in self.state.owners if not email or o.email.lower() == email.lower()]
        return Answer(200, {"results": [self._owner_body(o) for o in found]})

    def owner(self, owner: str, query: Query, body: Any) -> Answer:
        for candidate in self.state.owners:
            if candidate.id == owner:
                return Answer(200, self._owner_body(candidate))
        raise fail(404, facts.OBJECT_NOT_FOUND, f"Owner {owner} not found")

    def property_list(self, kind: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        created = self.state.schema_created
        props = self.state.properties[kind].values()
        return Answer(200, {"results": [self._property(kind, p.describe(created)) for p in props]})

    def _property(self, kind: str, described: Json) -> Json:
        name = described["name"]
        if kind == "tickets" and name == "hs_pipeline":
            described["options"] = [
                {"label": p.label, "value": p.id, "displayOrder": i, "hidden": False}
                for i, p in enumerate(self.state.pipelines)
            ]
        elif kind == "tickets" and name == "hs_pipeline_stage":
            described["options"] = [
                {"label": s.label, "value": s.id, "displayOrder": i, "hidden": False}
                for p in self.state.pipelines
                for i, s in enumerate(p.stages)
            ]
        elif name == "hubspot_owner_id":
            described["options"] = [
                {
                    "label": f"{o.first_name} {o.last_name}".strip(),
                    "value": o.id,
                    "displayOrder": i,
                    "hidden": False,
                }
                for i, o in enumerate(self.state.owners)
            ]
        return described

    def property_read(self, kind: str, name: str, query: Query, body: Any) -> Answer:
        kind = object_type(kind)
        prop = self.state.properties[kind].get(name)
        if prop is None:
            raise fail(404, facts.OBJECT_NOT_FOUND, f"Unable to find property {name}")
        return Answer(200, self._property(kind, prop.describe(self.state.schema_created)))
