"""Routing targets by name → the platform's own keys and ids, per platform."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from baton.core.catalog import Catalog, find_stage, suggest
from baton.core.mapping.source import PathPart

Report = Callable[[list[PathPart], str], None]


@dataclass(frozen=True)
class Target:
    """A resolved destination: native keys with ids, and a label people can read."""

    fields: Mapping[str, str | int] = field(default_factory=dict)
    label: str = ""


def _unknown(kind: str, name: str, known: list[str]) -> str:
    return f"unknown {kind} '{name}'{suggest(name, known)}"


def zendesk_target(spec: Any, path: list[PathPart], catalog: Catalog, report: Report) -> Target:
    """group → group_id, assignee → assignee_id."""
    fields: dict[str, str | int] = {}
    labels = []
    if spec.group is not None:
        group = catalog.group(spec.group)
        if group is None:
            report(
                [*path, "group"], _unknown("group", spec.group, [g.name for g in catalog.groups])
            )
        else:
            fields["group_id"] = group.id
            labels.append(f"group {group.name}")
    if spec.assignee is not None:
        user = catalog.user(spec.assignee)
        if user is None:
            names = [u.name for u in catalog.users]
            report([*path, "assignee"], _unknown("agent", spec.assignee, names))
        else:
            fields["assignee_id"] = user.id
            labels.append(f"agent {user.name}")
    return Target(fields, ", ".join(labels))


def salesforce_target(spec: Any, path: list[PathPart], catalog: Catalog, report: Report) -> Target:
    """queue or owner → OwnerId."""
    if spec.queue is not None:
        queue = catalog.group(spec.queue)
        if queue is None:
            report(
                [*path, "queue"], _unknown("queue", spec.queue, [q.name for q in catalog.groups])
            )
            return Target()
        return Target({"OwnerId": str(queue.id)}, f"queue {queue.name}")
    user = catalog.user(spec.owner)
    if user is None:
        report([*path, "owner"], _unknown("user", spec.owner, [u.name for u in catalog.users]))
        return Target()
    return Target({"OwnerId": str(user.id)}, f"user {user.name}")


def hubspot_target(spec: Any, path: list[PathPart], catalog: Catalog, report: Report) -> Target:
    """pipeline (+ stage, default the first) → hs_pipeline, hs_pipeline_stage; owner → id."""
    fields: dict[str, str | int] = {}
    labels = []
    if spec.pipeline is not None:
        pipeline = catalog.pipeline(spec.pipeline)
        if pipeline is None:
            names = [p.name for p in catalog.pipelines]
            report([*path, "pipeline"], _unknown("pipeline", spec.pipeline, names))
        else:
            stage = find_stage(pipeline, spec.stage) if spec.stage else pipeline.stages[0]
            if stage is None:
                names = [s.name for s in pipeline.stages]
                report([*path, "stage"], _unknown(f"stage of '{pipeline.name}'", spec.stage, names))
            else:
                fields.update(hs_pipeline=pipeline.id, hs_pipeline_stage=stage.id)
                labels.append(f"pipeline {pipeline.name} / {stage.name}")
    if spec.owner is not None:
        owner = catalog.user(spec.owner)
        if owner is None:
            report([*path, "owner"], _unknown("owner", spec.owner, [u.name for u in catalog.users]))
        else:
            fields["hubspot_owner_id"] = str(owner.id)
            labels.append(f"owner {owner.name}")
    return Target(fields, ", ".join(labels))


RESOLVERS: dict[str, Callable[[Any, list[PathPart], Catalog, Report], Target]] = {
    "zendesk": zendesk_target,
    "salesforce": salesforce_target,
    "hubspot": hubspot_target,
}
