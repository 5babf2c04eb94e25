"""Zendesk JSON → Baton values: sync dispositions (ticket + metrics + CSAT) and the catalog.

Pure functions over the export's plain JSON; no HTTP here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pydantic

from baton.connectors.zendesk import facts
from baton.connectors.zendesk.events import handoff_id_or_none
from baton.connectors.zendesk.values import Names, aware_time, is_merged
from baton.core.catalog import Catalog, CatalogField, Entity, Option
from baton.core.disposition import Disposition, Outcome

Json = dict[str, Any]


def is_baton_ticket(ticket: Json) -> bool:
    """Whether the ticket carries a handoff id as its external_id (one Baton created)."""
    external_id = ticket.get("external_id")
    return isinstance(external_id, str) and handoff_id_or_none(external_id) is not None


def ticket_status(ticket: Json) -> str:
    """The ticket's status, lower-case (``deleted`` for deleted tickets in the export)."""
    status = ticket.get("status")
    return status.casefold() if isinstance(status, str) else ""


def sync_disposition(
    ticket: Json,
    *,
    statuses: Mapping[str, Outcome],
    ticket_url: Callable[[str], str | None],
    metrics: Json | None,
    names: Names | None = None,
) -> Disposition | None:
    """The disposition a sync run reports for one Baton ticket; None when it cannot say.

    Outcome comes from the status, except that a ticket still being worked on after a reopen
    (or a move to another group) is ``reopened`` (``transferred``), as webhooks report it: a
    webhook and a sync run that see the same update then agree, and count as one observation.
    A closed ticket tagged ``closed_by_merge`` is ``merged``. Group and assignee are names from
    ``names`` (an id it does not know stays its id text).
    """
    names = names or Names()
    status = ticket_status(ticket)
    outcome: Outcome | None = (
        "merged" if is_merged(status, ticket.get("tags")) else statuses.get(status)
    )
    occurred_at = aware_time(ticket.get("updated_at"))
    ticket_id = _id_text(ticket.get("id"))
    if outcome is None or occurred_at is None or ticket_id is None:
        return None
    measured = metric_fields(metrics or {})
    if outcome in ("open", "pending"):
        if measured["reopen_count"]:
            outcome = "reopened"
        elif measured["transfer_count"]:
            outcome = "transferred"
    try:
        return Disposition(
            handoff_id=handoff_id_or_none(ticket.get("external_id")),
            platform=facts.PLATFORM,
            ticket_id=ticket_id,
            ticket_url=ticket_url(ticket_id),
            outcome=outcome,
            raw_status=status,
            assignee=names.user(_id_text(ticket.get("assignee_id"))),
            group=names.group(_id_text(ticket.get("group_id"))),
            occurred_at=occurred_at,
            source="sync",
            **measured,
            **csat_fields(ticket.get("satisfaction_rating")),
        )
    except pydantic.ValidationError:
        return None


def metric_fields(metric: Json) -> Json:
    """First reply and full resolution (calendar time, seconds), reopens, group transfers and
    public replies by agents (None when the metric set does not say)."""
    replies = metric.get(facts.METRIC_PUBLIC_REPLIES)
    fields: Json = {
        "first_response_seconds": _seconds(metric.get("reply_time_in_minutes")),
        "resolution_seconds": _seconds(metric.get("full_resolution_time_in_minutes")),
        "reopen_count": _count(metric.get("reopens")),
        "transfer_count": max(0, _count(metric.get("group_stations")) - 1),
        "public_replies": replies if type(replies) is int and replies >= 0 else None,
    }
    return fields


def metric_sets_by_ticket(metric_sets: Any) -> dict[int, Json]:
    """The export page's sideloaded ``metric_sets``, by ``ticket_id`` (unreadable ones left out)."""
    if not isinstance(metric_sets, list):
        return {}
    return {
        m["ticket_id"]: m
        for m in metric_sets
        if isinstance(m, dict) and type(m.get("ticket_id")) is int
    }


def csat_fields(rating: Any) -> Json:
    """good → 1.0, bad → 0.0, offered/unoffered → None; the raw score kept as given."""
    score = rating.get("score") if isinstance(rating, dict) else None
    if not isinstance(score, str) or score not in facts.CSAT_VALUES:
        return {"csat": None, "csat_raw": None}
    return {"csat": facts.CSAT_VALUES[score], "csat_raw": score}


def _seconds(duration: Any) -> int | None:
    minutes = duration.get("calendar") if isinstance(duration, dict) else None
    if type(minutes) is not int or minutes < 0:
        return None
    return minutes * 60


def _count(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0


def _id_text(value: Any) -> str | None:
    if type(value) is int or (isinstance(value, str) and value.isdigit()):
        return str(value)
    return None


# ------------------------------------------------------------------------------ catalog


def catalog_from(
    fields: Iterable[Json],
    groups: Iterable[Json],
    users: Iterable[Json],
    *,
    source: str,
    refreshed_at: str,
) -> Catalog:
    """A catalog of the active custom ticket fields, live groups and agents/admins."""
    return Catalog(
        platform=facts.PLATFORM,
        source=source,
        refreshed_at=refreshed_at,
        fields=[_field(f) for f in fields if _is_custom_field(f)],
        groups=[Entity(id=g["id"], name=g["name"]) for g in groups if _is_live_group(g)],
        users=[_user(u) for u in users if _is_live_agent(u)],
    )


def _is_custom_field(field: Json) -> bool:
    return (
        _named(field)
        and field.get("active", True) is not False
        and field.get("removable", True) is not False
        and field.get("type") not in facts.SYSTEM_FIELD_TYPES
    )


def _field(field: Json) -> CatalogField:
    options = [
        Option(name=o["name"], value=o["value"])
        for o in field.get("custom_field_options") or []
        if isinstance(o, dict) and _all_text(o.get("name"), o.get("value"))
    ]
    return CatalogField(
        id=field["id"], name=field["title"], type=str(field.get("type") or "text"), options=options
    )


def _all_text(*values: Any) -> bool:
    return all(isinstance(value, str) for value in values)


def _named(field: Json) -> bool:
    return type(field.get("id")) is int and isinstance(field.get("title"), str)


def _is_live_group(group: Json) -> bool:
    return (
        type(group.get("id")) is int
        and isinstance(group.get("name"), str)
        and group.get("deleted") is not True
    )


def _is_live_agent(user: Json) -> bool:
    return (
        type(user.get("id")) is int
        and isinstance(user.get("name"), str)
        and user.get("role") in facts.CATALOG_ROLES
        and user.get("active", True) is not False
    )


def _user(user: Json) -> Entity:
    email = user.get("email")
    return Entity(id=user["id"], name=user["name"], email=email if isinstance(email, str) else None)
