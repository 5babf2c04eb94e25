"""``baton mappings resolve``: refresh a platform's catalog from the live platform.

Registered on the ``mappings`` sub-command of the ``baton`` CLI (see webhooks/cli.py). It reads
the platform's fields, groups/queues and users through the configured connector, writes
``<mappings>/catalogs/<platform>.json`` and then checks the mapping against the new catalog, so
a group renamed on the platform shows up as a mapping problem (exit 2) right away.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from baton.core.errors import MappingError
from baton.webhooks.cli_core import (
    MappingsDir,
    PlatformName,
    bad_input_exits_2,
    err,
    mappings_folder,
    out,
)

# The connectors and the mapping engine are imported when a command runs (fast start-up).
if TYPE_CHECKING:
    from baton.core.catalog import Catalog
    from baton.core.mapping import CompiledMapping


def register(app: typer.Typer) -> None:
    """Add ``mappings resolve`` to the ``mappings`` sub-app that ``app`` already holds."""
    _sub_app(app, "mappings").command("resolve")(resolve)


def _sub_app(app: typer.Typer, name: str) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    raise RuntimeError(f"the CLI has no '{name}' sub-command to extend")


@bad_input_exits_2
def resolve(
    platform: PlatformName,
    mappings: MappingsDir = None,
) -> None:
    """Refresh catalogs/<platform>.json from the live platform, then re-check the mapping."""
    from baton.connectors.base import connector_for
    from baton.core.mapping import load_mapping

    mappings = mappings_folder(mappings, editable=True)
    name = platform
    mapping = _current_mapping(mappings, name)
    # connector_for is typed for a loaded mapping; a refresh needs none (see _current_mapping).
    connector = connector_for(name, mapping, os.environ)
    try:
        catalog = connector.refresh_catalog()
    finally:
        connector.close()
    path = write_catalog(mappings, catalog)
    out.print(
        f"wrote {path}: {len(catalog.fields)} field(s), {len(catalog.groups)} group(s), "
        f"{len(catalog.users)} user(s)",
        highlight=False,
    )
    try:
        load_mapping(mappings, name)
    except MappingError as exc:
        for problem in exc.problems:
            err.print(f"{mappings.name}/{problem}", highlight=False, markup=False)
        err.print(
            f"[bold red]{len(exc.problems)} problem(s)[/] in {mappings} with the new catalog",
            highlight=False,
        )
        raise typer.Exit(2) from None
    out.print(f"[green]ok[/] {name}.yaml matches the new catalog", highlight=False)


def _current_mapping(directory: Path, platform: str) -> CompiledMapping | None:
    """The mapping as it stands, or None when it does not load (a refresh may be the fix)."""
    from baton.core.mapping import load_mapping

    try:
        return load_mapping(directory, platform)
    except MappingError:
        return None


def write_catalog(directory: Path, catalog: Catalog) -> Path:
    """Write ``catalogs/<platform>.json``: pretty, UTF-8, trailing newline, no empty extras."""
    path = directory / "catalogs" / f"{catalog.platform}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_catalog_document(catalog), indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def _catalog_document(catalog: Catalog) -> dict[str, Any]:
    """The catalog as the shipped files spell it: no null emails, no empty option lists."""
    document = catalog.model_dump(mode="json")
    for key in ("pipelines", "association_types"):
        if not document[key]:
            del document[key]
    for item in document["fields"]:
        if not item["options"]:
            del item["options"]
    for item in document["groups"] + document["users"]:
        if item.get("email") is None:
            item.pop("email", None)
    return document
