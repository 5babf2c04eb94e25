"""A routing target resolved: the platform's own keys and ids (each plugin resolves its own)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from baton.core.catalog import Catalog, suggest
from baton.core.mapping.source import PathPart

Report = Callable[[list[PathPart], str], None]


@dataclass(frozen=True)
class Target:
    """A resolved destination: native keys with ids, and a label people can read."""

    fields: Mapping[str, str | int] = field(default_factory=dict)
    label: str = ""


def unknown(kind: str, name: str, known: list[str]) -> str:
    """The message for a name the catalog does not hold, with the likeliest meant one."""
    return f"unknown {kind} '{name}'{suggest(name, known)}"


def check_api_name(catalog: Catalog, path: list[PathPart], name: str, report: Report) -> None:
    """Report ``name`` unless it is a catalog field's API name (its id), not its label."""
    found = catalog.field(name)
    if found is None:
        known = [f.name for f in catalog.fields]
        report(path, f"unknown field '{name}'{suggest(name, known)}")
    elif str(found.id) != name:
        report(path, f"use the API name '{found.id}', not the label")
