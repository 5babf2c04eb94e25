"""``ZendeskState``: the in-memory Zendesk account behind the sandbox.

Built in layers, one concern each: ``Account`` (records, seeding, checks), ``TicketDesk``
(ticket writes and their webhook events) and, here, the reads derived from a ticket's history
(incremental export, metrics), satisfaction ratings and the agents' actions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from baton.sandbox.zendesk.errors import ZendeskError
from baton.sandbox.zendesk.facts import (
    BUSINESS_EQUALS_CALENDAR,
    CSAT_SCORES,
    INCREMENTAL_MIN_AGE_SECONDS,
    TOO_RECENT_START_TIME,
    TOO_RECENT_START_TIME_STATUS,
)
from baton.sandbox.zendesk.model import Json, Ticket, iso
from baton.sandbox.zendesk.pagination import decode_cursor, encode_cursor
from baton.sandbox.zendesk.tickets import TicketDesk


class ZendeskState(TicketDesk):
    """The in-memory Zendesk account behind the sandbox (thread-safe, one lock)."""

    # ---- incremental export ----------------------------------------------------------------

    def incremental(self, start_time: int | None, cursor: str | None, per_page: int) -> Json:
        """One page of the cursor-based incremental ticket export (without URLs)."""
        with self.lock:
            now = self.clock()
            horizon = now - timedelta(seconds=INCREMENTAL_MIN_AGE_SECONDS)
            if cursor is not None:
                after_seq = decode_cursor(cursor)
                since = None
            else:
                if start_time is None or start_time > horizon.timestamp():
                    raise ZendeskError(TOO_RECENT_START_TIME_STATUS, TOO_RECENT_START_TIME)
                after_seq, since = 0, start_time
            eligible = sorted(
                (
                    t
                    for t in self.tickets.values()
                    if t.seq > after_seq
                    and t.updated_at <= horizon
                    and (since is None or t.updated_at.timestamp() >= since)
                ),
                key=lambda t: (t.seq, t.id),
            )
            page = eligible[:per_page]
            last = page[-1].seq if page else after_seq
            return {
                "tickets": page,
                "after_cursor": encode_cursor(last),
                "before_cursor": encode_cursor(page[0].seq - 1) if page else None,
                "end_of_stream": len(eligible) <= per_page,
            }

    # ---- metrics and CSAT ------------------------------------------------------------------

    def metrics(self, ticket_id: int, base: str) -> Json:
        """``ticket_metric`` derived from the ticket's history."""
        with self.lock:
            return self.metric_set(self.ticket(ticket_id), base)

    def metric_sets(self, tickets: list[Ticket], base: str) -> list[Json]:
        """The ``metric_sets`` sideload of an export page: one per live ticket on it (a deleted
        ticket has none: UNCONFIRMED, as its metrics are gone from the API)."""
        with self.lock:
            return [self.metric_set(t, base) for t in tickets if not t.deleted]

    def metric_set(self, ticket: Ticket, base: str) -> Json:
        """A ticket's metrics, as ``/metrics.json`` and the export's sideload show them."""
        with self.lock:
            m = ticket.metrics
            first_solved = m.solved_times[0] if m.solved_times else None
            last_solved = m.solved_times[-1] if m.solved_times else None
            metric_id = ticket.id + 7_000_000
            return {
                "id": metric_id,
                "url": f"{base}/api/v2/ticket_metrics/{metric_id}.json",
                "ticket_id": ticket.id,
                "created_at": iso(ticket.created_at),
                "updated_at": iso(ticket.updated_at),
                "group_stations": m.group_stations,
                "assignee_stations": m.assignee_stations,
                "reopens": m.reopens,
                "replies": m.replies,
                "assignee_updated_at": iso(m.assigned_at),
                "requester_updated_at": iso(ticket.created_at),
                "status_updated_at": iso(m.status_updated_at),
                "initially_assigned_at": iso(m.initially_assigned_at),
                "assigned_at": iso(m.assigned_at),
                "solved_at": iso(last_solved),
                "latest_comment_added_at": iso(m.latest_comment_added_at),
                "reply_time_in_minutes": _minutes(ticket.created_at, m.first_reply_at),
                "first_resolution_time_in_minutes": _minutes(ticket.created_at, first_solved),
                "full_resolution_time_in_minutes": _minutes(ticket.created_at, last_solved),
                "agent_wait_time_in_minutes": {"calendar": None, "business": None},
                "requester_wait_time_in_minutes": {"calendar": None, "business": None},
                "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
            }

    def rate(self, ticket_id: int, score: str, comment: str | None = None) -> Json:
        """Record a satisfaction rating from the requester (emits no webhook of its own)."""
        if score not in CSAT_SCORES:
            raise ValueError(f"score must be one of {CSAT_SCORES}")
        with self.lock:
            ticket = self.ticket(ticket_id)
            now = self.clock()
            rating = {
                "id": self._next_id(),
                "assignee_id": ticket.assignee_id,
                "group_id": ticket.group_id,
                "requester_id": ticket.requester_id,
                "ticket_id": ticket.id,
                "score": score,
                "comment": comment,
                "created_at": iso(now),
                "updated_at": iso(now),
            }
            self.ratings.append(rating)
            ticket.satisfaction = {"id": rating["id"], "score": score, "comment": comment}
            before = ticket.snapshot()
            self._touch(ticket)
            self._emit(ticket, before)
            return rating

    # ---- agent actions ---------------------------------------------------------------------

    def _agent_update(self, ticket_id: int, data: Json) -> Json:
        return self.update_ticket(ticket_id, data, f"https://{self.subdomain}.zendesk.com")

    def agent_reply(self, ticket_id: int, body: str, public: bool = True) -> Json:
        """An agent comments (``public=False``: internal note)."""
        author = self._default_agent(ticket_id)
        return self._agent_update(
            ticket_id, {"comment": {"body": body, "public": public, "author_id": author}}
        )

    def solve(self, ticket_id: int) -> Json:
        """An agent solves the ticket."""
        return self._agent_update(ticket_id, {"status": "solved"})

    def reopen(self, ticket_id: int) -> Json:
        """The ticket is reopened (status open)."""
        return self._agent_update(ticket_id, {"status": "open"})

    def close(self, ticket_id: int) -> Json:
        """The ticket is closed (no further updates allowed)."""
        return self._agent_update(ticket_id, {"status": "closed"})

    def reassign(
        self, ticket_id: int, group_id: int | None = None, assignee_id: int | None = None
    ) -> Json:
        """Move the ticket to another group and/or agent."""
        data: Json = {}
        if group_id is not None:
            data["group_id"] = group_id
        if assignee_id is not None:
            data["assignee_id"] = assignee_id
        return self._agent_update(ticket_id, data)

    def delete(self, ticket_id: int) -> None:
        """Soft-delete: gone from the API, ``status: deleted`` in the incremental export."""
        with self.lock:
            ticket = self.ticket(ticket_id)
            before = ticket.snapshot()
            ticket.deleted = True
            self._touch(ticket)
            self._emit(ticket, before, deleted=True)

    def _default_agent(self, ticket_id: int) -> int:
        with self.lock:
            ticket = self.ticket(ticket_id)
            if ticket.assignee_id is not None:
                return ticket.assignee_id
            agents = sorted(u.id for u in self.users.values() if u.role == "agent")
            return agents[0] if agents else self.api_user.id


def _minutes(start: datetime, end: datetime | None) -> Json:
    if end is None:
        return {"calendar": None, "business": None}
    minutes = int((end - start).total_seconds() // 60)
    return {"calendar": minutes, "business": minutes if BUSINESS_EQUALS_CALENDAR else None}
