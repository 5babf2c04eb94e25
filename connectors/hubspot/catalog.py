"""``baton mappings resolve --platform hubspot``: the portal's catalog read live.

Pipelines and their stages (``/crm/v3/pipelines/tickets``; a stage is closed when its
``metadata.ticketState`` is ``CLOSED``), owners (``/crm/v3/owners``, every page), ticket
properties with their options (``/crm/v3/properties/tickets``) and the association type ids
Baton uses (``/crm/v4/associations/{from}/{to}/labels``).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.http import HubSpotClient
from baton.core.catalog import Catalog

_ASSOCIATIONS = {
    "note_to_ticket": ("notes", "tickets"),
    "ticket_to_contact": ("tickets", "contacts"),
}


def read_catalog(client: HubSpotClient, *, source: str, refreshed_at: datetime) -> Catalog:
    """The live catalog (four kinds of read, owners paged)."""
    crm = client.sdk.crm
    pipelines = client.call(lambda: crm.pipelines.pipelines_api.get_all("tickets"))
    owners: list[Any] = []
    after: str | None = None
    while True:
        page = client.call(partial(crm.owners.owners_api.get_page, limit=500, after=after))
        owners += page.results or []
        after = page.paging.next.after if page.paging and page.paging.next else None
        if after is None:
            break
    properties = client.call(lambda: crm.properties.core_api.get_all("tickets"))
    associations: dict[str, int] = {}
    for name, (source_type, target_type) in _ASSOCIATIONS.items():
        labels = client.call(
            partial(crm.associations.v4.schema.definitions_api.get_all, source_type, target_type)
        )
        defined = [
            r.type_id for r in labels.results or [] if r.category == "HUBSPOT_DEFINED" and r.type_id
        ]
        if defined:
            associations[name] = int(defined[0])
    return Catalog.model_validate(
        {
            "platform": facts.PLATFORM,
            "source": source,
            "refreshed_at": refreshed_at.isoformat(timespec="seconds"),
            "fields": [_field(p) for p in properties.results or [] if not _read_only(p)],
            "users": [
                {
                    "id": str(o.id),
                    "name": " ".join(x for x in (o.first_name, o.last_name) if x) or o.email,
                    "email": o.email,
                }
                for o in owners
                if not getattr(o, "archived", False)
            ],
            "pipelines": [
                {
                    "id": str(p.id),
                    "name": p.label,
                    "stages": [
                        {
                            "id": str(s.id),
                            "name": s.label,
                            "closed": (s.metadata or {}).get("ticketState") == "CLOSED",
                        }
                        for s in sorted(p.stages or [], key=lambda s: s.display_order or 0)
                    ],
                }
                for p in sorted(pipelines.results or [], key=lambda p: p.display_order or 0)
                if not p.archived
            ],
            "association_types": associations,
        }
    )


def _read_only(prop: Any) -> bool:
    modification = getattr(prop, "modification_metadata", None)
    return bool(getattr(modification, "read_only_value", False)) or bool(prop.calculated)


def _field(prop: Any) -> dict[str, Any]:
    return {
        "id": prop.name,
        "name": prop.label or prop.name,
        "type": prop.type or "string",
        "options": [
            {"name": o.label, "value": o.value} for o in prop.options or [] if not o.hidden
        ],
    }
