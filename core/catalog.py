"""Per-platform catalog: the names ops teams write in mappings, and the ids platforms expect.

A catalog is one JSON file per platform (``mappings/catalogs/<platform>.json``). It is shipped
with values matching the local sandboxes and refreshed from a live platform by
``baton mappings resolve``. The same shape serves all three platforms:

============  =====================  ======================  ==========================
list          Zendesk                Salesforce              HubSpot
============  =====================  ======================  ==========================
fields        ticket_fields (id)     Case fields (API name)  ticket properties (name)
groups        groups                 queues (00G…)           (unused)
users         agents                 users (005…)            owners
pipelines     (unused)               (unused)                ticket pipelines + stages
============  =====================  ======================  ==========================

Look-ups are by name, case-insensitively, or by id; a miss suggests the closest known name.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from baton.core.errors import MappingError, Problem
from baton.core.handoff import Platform

EntityId = str | int


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Model):
    """One allowed value of a field: the label people see and the value the API takes."""

    name: str
    value: str


class CatalogField(_Model):
    """A ticket field: Zendesk ticket_field, Salesforce Case field, HubSpot ticket property."""

    id: EntityId
    name: str
    type: str = "text"
    options: list[Option] = Field(default_factory=list)

    def option(self, wanted: str) -> Option | None:
        """The option whose label or value equals ``wanted`` (case-insensitive)."""
        folded = wanted.casefold()
        for opt in self.options:
            if folded in (opt.name.casefold(), opt.value.casefold()):
                return opt
        return None


class Entity(_Model):
    """A group, queue, user or owner."""

    id: EntityId
    name: str
    email: str | None = None


class Stage(_Model):
    """One stage of a HubSpot pipeline."""

    id: str
    name: str
    closed: bool = False


class Pipeline(_Model):
    """A HubSpot ticket pipeline and its stages."""

    id: str
    name: str
    stages: list[Stage]


class Catalog(_Model):
    """Everything a mapping needs to turn names into a platform's ids."""

    platform: Platform
    source: str = "shipped"
    refreshed_at: str | None = None
    fields: list[CatalogField] = Field(default_factory=list)
    groups: list[Entity] = Field(default_factory=list)
    users: list[Entity] = Field(default_factory=list)
    pipelines: list[Pipeline] = Field(default_factory=list)
    association_types: dict[str, int] = Field(
        default_factory=dict, description="e.g. note_to_ticket: 228 (HubSpot v4 labels)."
    )

    def field(self, name: str) -> CatalogField | None:
        """A field by display name, API name or id."""
        return _find(self.fields, name)

    def group(self, name: str) -> Entity | None:
        """A group (Zendesk) or queue (Salesforce) by name or id."""
        return _find(self.groups, name)

    def user(self, name: str) -> Entity | None:
        """A user or owner by name, email or id."""
        folded = name.casefold()
        for user in self.users:
            if user.email and user.email.casefold() == folded:
                return user
        return _find(self.users, name)

    def pipeline(self, name: str) -> Pipeline | None:
        """A HubSpot pipeline by name or id."""
        return _find(self.pipelines, name)


_Named = TypeVar("_Named", CatalogField, Entity, Pipeline, Stage)


def _find(items: list[_Named], name: str) -> _Named | None:
    folded = name.casefold()
    for item in items:
        if item.name.casefold() == folded or str(item.id).casefold() == folded:
            return item
    return None


def find_stage(pipeline: Pipeline, name: str) -> Stage | None:
    """A stage of ``pipeline`` by name or id."""
    return _find(pipeline.stages, name)


def suggest(wanted: str, known: list[str]) -> str:
    """A hint naming the closest known names, or the known names when there are few."""
    close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.6)
    if not close:
        folded = {k.casefold(): k for k in known}
        close = [folded[c] for c in difflib.get_close_matches(wanted.casefold(), folded, n=1)]
    if close:
        return f"; did you mean '{close[0]}'?"
    if known and len(known) <= 8:
        return "; known: " + ", ".join(f"'{k}'" for k in known)
    return ""


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file; problems name the file and path."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        message = (
            f"catalog file not found in {path.parent}; refresh it from the platform with "
            "'baton mappings resolve', or start from the defaults with 'baton init'"
        )
        raise MappingError([Problem("", message, path.name)]) from None
    except json.JSONDecodeError as exc:
        raise MappingError(
            [Problem("", f"not valid JSON (line {exc.lineno}, column {exc.colno})", path.name)]
        ) from None
    try:
        return Catalog.model_validate(data)
    except pydantic.ValidationError as exc:
        raise MappingError(
            Problem(".".join(map(str, e["loc"])), e["msg"], path.name)
            for e in exc.errors(include_url=False, include_input=False)
        ) from None
