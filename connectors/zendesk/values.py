"""What webhooks and sync runs read the same way: names for group and agent ids, and whether a
ticket was merged away."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from baton.connectors.zendesk import facts
from baton.core.catalog import Catalog


class Names:
    """Group and agent names by id, from a catalog (the mapping's).

    An id the catalog does not know — a group or agent added since the catalog was refreshed,
    or no catalog at all — stays as its id text: the observation keeps it, never loses it.
    """

    def __init__(self, catalog: Catalog | None = None) -> None:
        self._groups = {str(g.id): g.name for g in catalog.groups} if catalog else {}
        self._users = {str(u.id): u.name for u in catalog.users} if catalog else {}

    def group(self, group_id: str | None) -> str | None:
        """The group's name, or ``group_id`` itself when the catalog does not know it."""
        return _named(self._groups, group_id)

    def user(self, user_id: str | None) -> str | None:
        """The agent's name, or ``user_id`` itself when the catalog does not know it."""
        return _named(self._users, user_id)


def _named(names: Mapping[str, str], entity_id: str | None) -> str | None:
    if entity_id is None:
        return None
    return names.get(entity_id, entity_id)[: facts.NAME_MAX_CHARS]


def is_merged(status: str, tags: Any) -> bool:
    """Whether a ticket was closed by a merge into another: closed, tagged ``closed_by_merge``."""
    return status == facts.STATUS_CLOSED and isinstance(tags, list) and facts.MERGED_TAG in tags


def aware_time(value: Any) -> datetime | None:
    """An ISO-8601 time with an offset (or such a datetime, as zenpy may give), else None."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    return None
