"""Times given by people (command options, query parameters)."""

from __future__ import annotations

from datetime import UTC, datetime

from baton.core.errors import BatonError


def parse_time(raw: str | None, name: str) -> datetime | None:
    """An ISO-8601 value as a time (UTC when it has no offset); None for None; BatonError
    naming ``name`` (the option or parameter) when it is not a time."""
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BatonError(
            f"{name}: {raw!r} is not an ISO-8601 time such as 2026-03-01T00:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
