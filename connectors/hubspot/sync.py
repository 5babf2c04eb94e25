"""The HubSpot change feed: ticket search on ``hs_lastmodifieddate`` past the 10,000 cap.

A search query pages through 10,000 results at most (then HubSpot answers 400), and takes one
sort rule. So the feed keeps a keyset cursor — the last ticket's (modified ms, object id) —
and every query asks for what lies after it::

    filterGroups: [ {modified > T},  {modified = T AND hs_object_id > last} ]
    sorts: [modified ascending]

Ties on ``hs_lastmodifieddate`` (thousands of tickets touched in one millisecond by a bulk
edit) are broken by that second filter group, not by a second sort. Search follows writes
with a delay, so a run reads only what was modified up to HubSpot's own time (an answer's
``Date``, read first) less ``SEARCH_SETTLE_SECONDS``: a change indexed late is still ahead of
the cursor at the next run. Before a query's paging
would pass the cap, the query starts again from the cursor (``after`` back to none). A
ticket's dispositions come with its owner and stage history from one batch read per 100
Baton tickets, and its reps' e-mails (public replies) from two more (:mod:`.replies`).
Archived tickets never match a search: the run's last page adds the recycle
bin's (``archived=true``) tickets archived since the last run → ``deleted``; a
ticket whose ``hs_merged_object_ids`` names others → ``merged`` for each of those.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from hubspot.crm.tickets import BatchReadInputSimplePublicObjectId, PublicObjectSearchRequest

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.http import HubSpotClient
from baton.connectors.hubspot.replies import EmailReplies
from baton.connectors.hubspot.values import (
    HISTORY_PROPERTIES,
    TicketReading,
    epoch_ms,
    merged_dispositions,
    ticket_disposition,
    timestamp,
)
from baton.core.disposition import Disposition
from baton.core.errors import PayloadError
from baton.core.ports import ChangePage

TicketUrl = Callable[[str], str | None]


@dataclass(frozen=True)
class SyncCursor:
    """Everything up to (``modified_ms``, ``object_id``) was reported; ``archived_ms``: the
    newest archive time reported."""

    modified_ms: int
    object_id: int = 0
    archived_ms: int = 0

    @classmethod
    def decode(cls, cursor: str | None, since: datetime) -> SyncCursor:
        """The saved cursor, or the start just before ``since``."""
        if cursor is None:
            start = epoch_ms(since) - 1
            return cls(start, 2**62, start)  # everything modified at `since` or later
        try:
            data = json.loads(cursor)
            return cls(int(data["t"]), int(data["id"]), int(data.get("d", data["t"])))
        except (ValueError, KeyError, TypeError):
            raise PayloadError("the saved HubSpot sync cursor is not readable") from None

    def encode(self) -> str:
        """The cursor as stored between runs."""
        return json.dumps({"t": self.modified_ms, "id": self.object_id, "d": self.archived_ms})

    def after(self, modified_ms: int, object_id: int) -> SyncCursor:
        """The cursor past one more ticket (keyset order: never backwards)."""
        if (modified_ms, object_id) <= (self.modified_ms, self.object_id):
            return self
        return SyncCursor(modified_ms, object_id, self.archived_ms)


def search_body(
    cursor: SyncCursor, upper_ms: int, properties: list[str], limit: int, after: str | None
) -> Any:
    """The search request for the tickets after ``cursor``, modified by ``upper_ms``."""

    def modified(operator: str, value: int) -> dict[str, str]:
        return {"propertyName": facts.LAST_MODIFIED, "operator": operator, "value": str(value)}

    settled = modified("LTE", upper_ms)
    later = {"filters": [modified("GT", cursor.modified_ms), settled]}
    ties = {
        "filters": [
            modified("EQ", cursor.modified_ms),
            {"propertyName": facts.OBJECT_ID, "operator": "GT", "value": str(cursor.object_id)},
            settled,
        ]
    }
    return PublicObjectSearchRequest(
        filter_groups=[later, ties],
        sorts=[{"propertyName": facts.LAST_MODIFIED, "direction": "ASCENDING"}],
        properties=properties,
        limit=limit,
        after=after,
    )


class TicketFeed:
    """One sync run's pages (see the module docstring)."""

    def __init__(
        self,
        client: HubSpotClient,
        reading: TicketReading,
        ticket_url: TicketUrl,
        page_limit: int,
        clock: Callable[[], datetime],
        replies: EmailReplies | None = None,
    ) -> None:
        self.client = client
        self.reading = reading
        self.ticket_url = ticket_url
        self.page_limit = page_limit
        self.clock = clock
        self.replies = replies

    def pages(self, cursor: SyncCursor) -> Iterator[ChangePage]:
        """Search pages after ``cursor``; the last one also carries the tickets archived since
        the last run and is ``done``."""
        search = self.client.sdk.crm.tickets.search_api
        properties = self.reading.properties()
        upper_ms = epoch_ms(self._hubspot_now()) - facts.SEARCH_SETTLE_SECONDS * 1000
        while True:
            start, after = cursor, None  # one query's filter stays fixed while it pages
            while True:
                limit = max(1, min(self.page_limit, facts.SEARCH_MAX_LIMIT))
                body = search_body(start, upper_ms, properties, limit, after)
                page = self.client.call(
                    partial(search.do_search, public_object_search_request=body)
                )
                results = list(page.results or [])
                for ticket in results:
                    cursor = cursor.after(_modified(ticket), int(ticket.id))
                next_after = page.paging.next.after if page.paging and page.paging.next else None
                if next_after is None:
                    yield self._last(results, cursor)
                    return
                yield self._page(results, cursor)
                if int(next_after) + limit > facts.SEARCH_MAX_RESULTS:
                    break  # the cap is near: a new query from the cursor
                after = str(next_after)

    def _hubspot_now(self) -> datetime:
        """HubSpot's clock: the Date of an answer read now (one small read), else ours."""
        basic = self.client.sdk.crm.tickets.basic_api
        self.client.call(partial(basic.get_page, limit=1, properties=[facts.OBJECT_ID]))
        return self.client.pool.server_time or self.clock()

    def _last(self, tickets: list[Any], cursor: SyncCursor) -> ChangePage:
        page = self._page(tickets, cursor)
        deleted, examined, newest = self._archived(cursor)
        done = SyncCursor(cursor.modified_ms, cursor.object_id, newest)
        return ChangePage(
            [*page.dispositions, *deleted],
            done.encode(),
            True,
            page.examined + examined,
            page.skipped,
            page.replies,
        )

    def _page(self, tickets: list[Any], cursor: SyncCursor) -> ChangePage:
        ours = [t for t in tickets if _handoff_id(t, self.reading)]
        histories = self._histories([str(t.id) for t in ours])
        dispositions: list[Disposition] = []
        skipped: list[str] = []
        for ticket in tickets:
            props = ticket.properties or {}
            dispositions += merged_dispositions(props, ticket_url=self.ticket_url, source="sync")
            found = ticket_disposition(
                str(ticket.id),
                props,
                self.reading,
                ticket_url=self.ticket_url,
                source="sync",
                history=histories.get(str(ticket.id)),
            )
            if found is None:
                skipped.append(str(ticket.id))
            else:
                dispositions.append(found)
        replies = self.replies.read([str(t.id) for t in ours]) if self.replies and ours else []
        return ChangePage(dispositions, cursor.encode(), False, len(tickets), skipped, replies)

    def _histories(self, ticket_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        batch = self.client.sdk.crm.tickets.batch_api
        for start in range(0, len(ticket_ids), facts.BATCH_MAX_INPUTS):
            chunk = ticket_ids[start : start + facts.BATCH_MAX_INPUTS]
            body = BatchReadInputSimplePublicObjectId(
                inputs=[{"id": i} for i in chunk],
                properties=[facts.OBJECT_ID],
                properties_with_history=list(HISTORY_PROPERTIES),
            )
            answer = self.client.call(partial(batch.read, body, archived=False))
            for ticket in answer.results or []:
                found[str(ticket.id)] = dict(ticket.properties_with_history or {})
        return found

    def _archived(self, cursor: SyncCursor) -> tuple[list[Disposition], int, int]:
        """Tickets archived after ``cursor.archived_ms`` as ``deleted`` (Baton's only), how many
        archived tickets were read, and the newest archive time."""
        basic = self.client.sdk.crm.tickets.basic_api
        newest = cursor.archived_ms
        dispositions: list[Disposition] = []
        examined = 0
        after: str | None = None
        while True:
            page = self.client.call(
                partial(
                    basic.get_page,
                    limit=facts.BATCH_MAX_INPUTS,
                    after=after,
                    properties=[self.reading.id_property],
                    archived=True,
                )
            )
            for ticket in page.results or []:
                examined += 1
                archived_at = timestamp(ticket.archived_at)
                handoff = _handoff_id(ticket, self.reading)
                if (
                    archived_at is None
                    or epoch_ms(archived_at) <= cursor.archived_ms
                    or not handoff
                ):
                    continue
                newest = max(newest, epoch_ms(archived_at))
                dispositions.append(
                    Disposition(
                        handoff_id=handoff,
                        platform=facts.PLATFORM,
                        ticket_id=str(ticket.id),
                        ticket_url=self.ticket_url(str(ticket.id)),
                        outcome="deleted",
                        occurred_at=archived_at,
                        source="sync",
                    )
                )
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None:
                break
        return dispositions, examined, newest


def _modified(ticket: Any) -> int:
    when = timestamp((ticket.properties or {}).get(facts.LAST_MODIFIED)) or timestamp(
        ticket.updated_at
    )
    if when is None:
        raise PayloadError("a searched ticket has no hs_lastmodifieddate")
    return epoch_ms(when)


def _handoff_id(ticket: Any, reading: TicketReading) -> str | None:
    value = (ticket.properties or {}).get(reading.id_property)
    return value if isinstance(value, str) and value else None
