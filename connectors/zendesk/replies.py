"""Healing public replies: Zendesk's incremental ticket events export, read through zenpy.

The incremental ticket export carries no comments; the ticket events export does, with the
``comment_events`` sideload (Incremental Exports reference, "Incremental Ticket Event Export"):
``GET /api/v2/incremental/ticket_events.json?start_time=…&include=comment_events``, one
time-based page per request (``end_time``: the next ``start_time``; ``end_of_stream``; at most
1,000 events), each event ``{id, ticket_id, timestamp, updater_id, via, child_events}`` whose
comments are child events ``{id, event_type: "Comment", author_id, body, public, via,
created_at}``. zenpy's ``tickets.events(start_time, include)`` makes that request; each page is
asked for on its own, so the cursor (the page's ``end_time``) commits with the page's replies.
A time-based page repeats the events of its boundary second: the store's unique key on
``(platform, ticket_id, reply_id)`` dedupes them.

"By a person working the ticket" is judged from what the export says and one look-up per
author: a public ``Comment`` whose author is an agent or admin (the mapping catalog's agents,
else ``GET /api/v2/users/{id}.json``, remembered), not made through an automation channel
(:data:`~.facts.AUTOMATED_VIA_CHANNELS`). The export does not name the ticket's requester; an
agent who is also the requester of a ticket counts as staff (UNCONFIRMED how common).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from baton.connectors.zendesk import facts
from baton.connectors.zendesk.http import ZendeskClient
from baton.connectors.zendesk.values import aware_time
from baton.core.catalog import Catalog
from baton.core.errors import FatalError
from baton.core.ports import ChangePage
from baton.core.replies import PublicReply

log = logging.getLogger(__name__)
Json = dict[str, Any]


class ReplyExport:
    """Pages of public replies by staff from the ticket events export (see the module)."""

    def __init__(
        self,
        client: ZendeskClient,
        start_time: Callable[[datetime], int],
        catalog: Catalog | None = None,
    ) -> None:
        self._client = client
        self._start_time = start_time
        self._staff: dict[str, str | None] = (
            {str(u.id): u.name for u in catalog.users} if catalog is not None else {}
        )
        self._not_staff: set[str] = set()
        self.user_lookups = 0

    def pages(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """One ChangePage of replies per export page, after ``cursor`` (an ``end_time``) or
        ``since``; stops at ``end_of_stream`` (or when a page does not move the time on)."""
        start = int(cursor) if cursor and cursor.isdigit() else self._start_time(since)
        while True:
            events, end_time, end_of_stream = self._page(start)
            end = end_time if end_time is not None and end_time > start else start
            done = end_of_stream or end == start
            yield ChangePage(
                dispositions=[],
                replies=[r for e in events for r in self._replies(e)],
                cursor=str(end),
                done=done,
                examined=len(events),
            )
            if done:
                return
            start = end

    def _page(self, start: int) -> tuple[list[Json], int | None, bool]:
        with self._client.calls():
            page = self._client.zenpy.tickets.events(start_time=start, include=facts.COMMENT_EVENTS)
            events = [_plain(e) for e in (page.values or [])]
        end_time = getattr(page, "end_time", None)
        return (
            [e for e in events if isinstance(e, dict)],
            end_time if type(end_time) is int else None,
            getattr(page, "end_of_stream", False) is True,
        )

    def _replies(self, event: Json) -> list[PublicReply]:
        ticket_id = _id_text(event.get("ticket_id"))
        children = event.get("child_events")
        if ticket_id is None or not isinstance(children, list):
            return []
        found = []
        for child in children:
            if not isinstance(child, dict) or not _is_public_comment(child, event):
                continue
            reply = self._reply(ticket_id, child, event)
            if reply is not None:
                found.append(reply)
        return found

    def _reply(self, ticket_id: str, child: Json, event: Json) -> PublicReply | None:
        author_id = _id_text(child.get("author_id"))
        reply_id = _id_text(child.get("id"))
        at = aware_time(child.get("created_at")) or aware_time(event.get("created_at"))
        if author_id is None or reply_id is None or at is None:
            return None
        staff, name = self._author(author_id)
        if not staff:
            return None
        return PublicReply(
            platform=facts.PLATFORM,
            ticket_id=ticket_id,
            reply_id=reply_id,
            author=name,
            body=str(child["body"]),
            created_at=at,
        )

    def _author(self, author_id: str) -> tuple[bool, str | None]:
        """Whether the author is an agent or admin, and their name (one look-up per author)."""
        if author_id in self._staff:
            return True, self._staff[author_id]
        if author_id in self._not_staff:
            return False, None
        self.user_lookups += 1
        try:
            with self._client.calls():
                user = self._client.zenpy.users(id=int(author_id))
        except FatalError as exc:
            if exc.status == 404:  # deleted since: not known to be staff
                self._not_staff.add(author_id)
                return False, None
            raise
        role, name = getattr(user, "role", None), getattr(user, "name", None)
        if role in facts.CATALOG_ROLES:
            self._staff[author_id] = name if isinstance(name, str) else None
            return True, self._staff[author_id]
        self._not_staff.add(author_id)
        return False, None


def _is_public_comment(child: Json, event: Json) -> bool:
    kind = child.get("event_type") or child.get("type")
    body = child.get("body")
    if kind != facts.COMMENT_EVENT_TYPE or child.get("public") is not True:
        return False
    if not isinstance(body, str) or not body.strip():
        return False
    return _channel(child) not in facts.AUTOMATED_VIA_CHANNELS and (
        _channel(event) not in facts.AUTOMATED_VIA_CHANNELS
    )


def _channel(item: Json) -> str | None:
    via = item.get("via")
    channel = via.get("channel") if isinstance(via, dict) else None
    return channel if isinstance(channel, str) else None


def _plain(event: Any) -> Any:
    """A zenpy object as the JSON Zendesk sent (its nested objects too)."""
    to_dict = getattr(event, "to_dict", None)
    return to_dict() if callable(to_dict) else event


def _id_text(value: Any) -> str | None:
    if type(value) is int or (isinstance(value, str) and value.isdigit()):
        return str(value)
    return None
