"""The HubSpot part of a mapping: its YAML shape, its routing targets and the requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from baton.connectors.hubspot import facts
from baton.core.catalog import Catalog, find_stage
from baton.core.mapping.compiler import CompiledMapping
from baton.core.mapping.render import TicketDraft
from baton.core.mapping.spec import MappingBase, Name, RoutingBase, RuleBase, TargetBase
from baton.core.mapping.targets import Report, Target, unknown
from baton.core.mapping.wire import JSON, PlannedRequest


class HubspotTarget(TargetBase):
    """Where a HubSpot ticket goes: a pipeline (and stage) and optionally an owner."""

    pipeline: Name | None = None
    stage: Name | None = Field(default=None, description="Defaults to the pipeline's first stage.")
    owner: Name | None = Field(default=None, description="Owner name or email.")

    @model_validator(mode="after")
    def _some_target(self) -> HubspotTarget:
        if self.pipeline is None and self.owner is None:
            raise ValueError("name a pipeline, an owner, or both")
        if self.stage is not None and self.pipeline is None:
            raise ValueError("a stage needs its pipeline")
        return self


class HubspotRule(HubspotTarget, RuleBase):
    """A HubSpot routing rule."""


class HubspotRouting(RoutingBase):
    """HubSpot routing: rules, first match wins; `default` (with a pipeline) when none matches."""

    rules: list[HubspotRule] = Field(default_factory=list)
    default: HubspotTarget
    backup: HubspotTarget | None = None


class HubspotMapping(MappingBase):
    """A mapping to HubSpot tickets."""

    platform: Literal["hubspot"]
    id_property: Name = Field(
        description="A ticket property with unique values that holds the handoff id."
    )
    routing: HubspotRouting
    csat_property: Name | None = Field(
        default=None,
        description="A ticket property holding satisfaction (a number or an option), read "
        "into dispositions normalized to 0..1.",
    )
    csat_scale: float = Field(
        default=5.0,
        gt=0,
        description="The CSAT property's best value: on a scale above 1, 1 is the worst (0) "
        "and this the best (1); a scale of 1 reads the property as 0..1.",
    )


def hubspot_target(spec: Any, path: list[str | int], catalog: Catalog, report: Report) -> Target:
    """pipeline (+ stage, default the first) → hs_pipeline, hs_pipeline_stage; owner → id."""
    fields: dict[str, str | int] = {}
    labels = []
    if spec.pipeline is not None:
        pipeline = catalog.pipeline(spec.pipeline)
        if pipeline is None:
            names = [p.name for p in catalog.pipelines]
            report([*path, "pipeline"], unknown("pipeline", spec.pipeline, names))
        else:
            stage = find_stage(pipeline, spec.stage) if spec.stage else pipeline.stages[0]
            if stage is None:
                names = [s.name for s in pipeline.stages]
                report([*path, "stage"], unknown(f"stage of '{pipeline.name}'", spec.stage, names))
            else:
                fields.update(hs_pipeline=pipeline.id, hs_pipeline_stage=stage.id)
                labels.append(f"pipeline {pipeline.name} / {stage.name}")
    if spec.owner is not None:
        owner = catalog.user(spec.owner)
        if owner is None:
            report([*path, "owner"], unknown("owner", spec.owner, [u.name for u in catalog.users]))
        else:
            fields["hubspot_owner_id"] = str(owner.id)
            labels.append(f"owner {owner.name}")
    return Target(fields, ", ".join(labels))


def hubspot_requests(draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
    """The ticket created with the handoff id in the unique id property, then a note on it.

    What a first attempt sends. A retry (or a backfill) sends the same properties as a
    ``batch/upsert`` row keyed on the id property (:func:`upsert_row`)."""
    spec = mapping.spec
    assert isinstance(spec, HubspotMapping)
    properties: dict[str, Any] = {
        "subject": draft.subject,
        facts.PRIORITY_PROPERTY: draft.priority,
        **draft.target.fields,
        **{str(key): value for key, value in draft.fields.items()},
    }
    if draft.description:
        properties["content"] = draft.description
    # HubSpot's object inputs take every property value as a string.
    properties = {key: _as_text(value) for key, value in properties.items()}
    ticket = {"properties": {**properties, spec.id_property: draft.handoff_id}}
    association = mapping.catalog.association_types.get(
        "note_to_ticket", facts.NOTE_TO_TICKET_DEFAULT
    )
    note = {
        "properties": {"hs_note_body": draft.note, "hs_timestamp": draft.created_at},
        "associations": [
            {
                "to": {"id": "@{ticket.id}"},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": association}
                ],
            }
        ],
    }
    headers = {"Content-Type": JSON}
    return [
        PlannedRequest("POST", facts.TICKETS_PATH, headers, ticket, "ticket", "Bearer"),
        PlannedRequest("POST", facts.NOTES_PATH, headers, note, None, "Bearer"),
    ]


def upsert_row(ticket: Mapping[str, Any], id_property: str) -> dict[str, Any]:
    """The planned create's properties as a ``batch/upsert`` input keyed on ``id_property``."""
    properties = dict(ticket["properties"])
    handoff_id = properties.pop(id_property)
    return {"id": handoff_id, "idProperty": id_property, "properties": properties}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
