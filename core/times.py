"""The current time, and times given by people (command options, query parameters)."""

from __future__ import annotations

from datetime import UTC, datetime

from baton.core.errors import BatonError


def utcnow() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(UTC)


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


def readable_duration(seconds: float | None, *, compact: bool = False) -> str:
    """``45 min``, ``3.5 h`` or ``2.1 d`` (``45m``, ``3.5h``, ``2.1d`` when ``compact``, for
    narrow terminal columns); ``—`` when unknown."""
    if seconds is None:
        return "—"
    gap, minute = ("", "m") if compact else (" ", " min")
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f}{minute}"
    hours = minutes / 60
    return f"{hours:.1f}{gap}h" if hours < 48 else f"{hours / 24:.1f}{gap}d"
