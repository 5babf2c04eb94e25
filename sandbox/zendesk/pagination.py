"""Zendesk's pagination: opaque cursors, cursor and offset pages of a list, page links."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from baton.sandbox.zendesk.errors import ZendeskError
from baton.sandbox.zendesk.facts import LIST_MAX_PER_PAGE, PER_PAGE_TOO_LARGE
from baton.sandbox.zendesk.model import Json


def encode_cursor(seq: int) -> str:
    """The opaque cursor for a position."""
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode("ascii")


def decode_cursor(cursor: str) -> int:
    """The position a cursor names; 400 InvalidPaginationParameter if it names none."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        prefix, _, value = text.partition(":")
        if prefix != "seq":
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeError):
        raise ZendeskError(
            400, {"error": "InvalidPaginationParameter", "description": "Invalid cursor"}
        ) from None


def base_url(request: Request) -> str:
    """The request's scheme and host, the base of every URL in an answer."""
    return str(request.base_url).rstrip("/")


def page_url(request: Request, path: str, params: dict[str, Any]) -> str:
    """An absolute URL to ``path`` with the non-None ``params`` as its query."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base_url(request)}{path}" + (f"?{query}" if query else "")


def int_param(request: Request, name: str, default: int, maximum: int) -> int:
    """A whole-number query parameter from 1 to ``maximum``; 400 otherwise."""
    raw = request.query_params.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise ZendeskError(400, {**PER_PAGE_TOO_LARGE, "description": f"{name} invalid"}) from None
    if value < 1 or value > maximum:
        raise ZendeskError(400, {**PER_PAGE_TOO_LARGE, "description": f"{name} > {maximum}"})
    return value


def paginate(request: Request, key: str, items: list[Json]) -> Json:
    """Cursor pagination when ``page[size]``/``page[after]`` is given, else offset pagination."""
    q = request.query_params
    path = request.url.path
    base_params = {k: v for k, v in q.items() if not k.startswith("page") and k != "per_page"}
    if any(k.startswith("page[") for k in q):
        size = int_param(request, "page[size]", LIST_MAX_PER_PAGE, LIST_MAX_PER_PAGE)
        start = decode_cursor(q["page[after]"]) if "page[after]" in q else 0
        chunk = items[start : start + size]
        has_more = start + size < len(items)
        after = encode_cursor(start + size) if has_more else None
        next_url = page_url(
            request, path, {**base_params, "page[size]": size, "page[after]": after}
        )
        return {
            key: chunk,
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": None},
            "links": {"next": next_url if has_more else None, "prev": None},
        }
    per_page = int_param(request, "per_page", LIST_MAX_PER_PAGE, LIST_MAX_PER_PAGE)
    page = int_param(request, "page", 1, 1_000_000)
    chunk = items[(page - 1) * per_page : page * per_page]
    has_next = page * per_page < len(items)

    def link(number: int) -> str:
        return page_url(request, path, {**base_params, "page": number, "per_page": per_page})

    return {
        key: chunk,
        "next_page": link(page + 1) if has_next else None,
        "previous_page": link(page - 1) if page > 1 else None,
        "count": len(items),
    }
