"""ToyDesk itself, in miniature: the vendor's API and its signed webhooks, in memory.

It stands in for the vendor and shares no code with Baton's connector (only the wire format).

* Bearer-token auth on every route; a per-minute rate limit answering 429 + ``Retry-After``.
* ``POST /api/tickets`` ``{"ticket": {...}}``: 201, or 200 with the same ticket when the
  ``Idempotency-Key`` or ``external_id`` was seen; 422 without a subject or with an unknown
  ``queue_id``.
* ``GET /api/tickets?external_id=``, ``GET /api/tickets/{id}``, ``GET /api/catalog``.
* ``GET /api/changes?after=<seq>[&since=<iso>]``: every ticket change, in order.
* Agent actions (reply, reassign, solve, rate, reopen, delete) emit signed webhooks from a
  worker thread (:mod:`.webhooks`: the signature, single events and batches).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from baton.sandbox.faults import FaultQueue
from tests.support.toydesk.webhooks import Webhooks

Json = dict[str, Any]
Clock = Callable[[], datetime]
PRIORITIES = ("low", "normal", "high", "urgent")


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


class ToyError(Exception):
    """An API refusal: HTTP status, short code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Ticket:
    """One ticket as ToyDesk keeps it."""

    id: int
    external_id: str | None
    subject: str
    priority: str
    queue_id: str
    created_at: datetime
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fields: Json = field(default_factory=dict)
    requester: Json | None = None
    status: str = "open"
    updated_at: datetime | None = None
    first_reply_at: datetime | None = None
    solved_at: datetime | None = None
    resolution_seconds: int | None = None
    replies: list[str] = field(default_factory=list)
    reopen_count: int = 0
    transfer_count: int = 0
    rating: str | None = None
    rating_comment: str | None = None

    def to_json(self, queues: Mapping[str, str]) -> Json:
        """The API's view of the ticket."""
        first = self.first_reply_at
        return {
            "id": self.id,
            "external_id": self.external_id,
            "subject": self.subject,
            "status": self.status,
            "priority": self.priority,
            "tags": list(self.tags),
            "queue_id": self.queue_id,
            "queue": queues.get(self.queue_id),
            "fields": dict(self.fields),
            "requester": self.requester,
            "notes": len(self.notes),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at or self.created_at),
            "solved_at": _iso(self.solved_at),
            "first_response_seconds": (
                None if first is None else int((first - self.created_at).total_seconds())
            ),
            "resolution_seconds": self.resolution_seconds,
            "replies": len(self.replies),
            "reopen_count": self.reopen_count,
            "transfer_count": self.transfer_count,
            "rating": self.rating,
            "rating_comment": self.rating_comment,
        }


class ToyState:
    """The whole account: queues, tickets, the change log and webhooks."""

    def __init__(
        self, catalog: Json, *, token: str, clock: Clock = utcnow, rate_limit: int = 700
    ) -> None:
        self.catalog = catalog
        self.queues = {str(g["id"]): str(g["name"]) for g in catalog.get("groups", [])}
        self.token = token
        self.clock = clock
        self.rate_limit = rate_limit
        self.tickets: dict[int, Ticket] = {}
        self.changes: list[Json] = []
        self.webhooks = Webhooks(clock)
        self.faults = FaultQueue()
        self.requests: list[Json] = []  # method and path of each API request, in order
        self._keys: dict[str, int] = {}
        self._hits: deque[float] = deque()
        self._lock = threading.RLock()

    def allow(self) -> float | None:
        """None when a request is within the rate limit, else seconds to wait."""
        now = time.monotonic()
        with self._lock:
            while self._hits and now - self._hits[0] >= 60:
                self._hits.popleft()
            if len(self._hits) >= self.rate_limit:
                return 60 - (now - self._hits[0])
            self._hits.append(now)
        return None

    def create(self, body: Any, key: str | None) -> tuple[Json, bool]:
        """Create a ticket (or return the one ``key``/``external_id`` already made)."""
        data = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ToyError(422, "InvalidTicket", "a ticket object is required")
        subject, external_id = data.get("subject"), data.get("external_id")
        if not isinstance(subject, str) or not subject.strip():
            raise ToyError(422, "InvalidTicket", "subject is required")
        queue_id = str(data.get("queue_id"))
        if queue_id not in self.queues:
            raise ToyError(422, "InvalidTicket", "unknown queue_id")
        priority = data.get("priority") or "normal"
        if priority not in PRIORITIES:
            raise ToyError(422, "InvalidTicket", "unknown priority")
        with self._lock:
            for known in (key, external_id):
                if isinstance(known, str) and known in self._keys:
                    return self.tickets[self._keys[known]].to_json(self.queues), False
            ticket = Ticket(
                id=len(self.tickets) + 1,
                external_id=external_id if isinstance(external_id, str) else None,
                subject=subject,
                priority=priority,
                queue_id=queue_id,
                created_at=self.clock(),
                tags=[str(t) for t in data.get("tags") or []],
                notes=[str(data["note"])] if data.get("note") else [],
                fields=dict(data.get("fields") or {}),
                requester=data.get("requester"),
            )
            self.tickets[ticket.id] = ticket
            for known in (key, ticket.external_id):
                if known:
                    self._keys[known] = ticket.id
            return self._changed(ticket, "created"), True

    def add_note(self, ticket_id: int, body: Any) -> Json:
        """An internal note on the ticket (no idempotency key: every call adds one)."""
        note = body.get("note") if isinstance(body, dict) else None
        text = note.get("body") if isinstance(note, dict) else None
        if not isinstance(text, str) or not text:
            raise ToyError(422, "InvalidNote", "note.body is required")
        with self._lock:
            ticket = self._ticket(ticket_id)
            ticket.notes.append(text)
            return {"id": len(ticket.notes), "body": text}

    def notes(self, ticket_id: int) -> list[Json]:
        """The ticket's internal notes, oldest first."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            return [{"id": i + 1, "body": text} for i, text in enumerate(ticket.notes)]

    def find(self, external_id: str | None) -> list[Json]:
        """Tickets, all or those with ``external_id``."""
        with self._lock:
            found = [t for t in self.tickets.values() if external_id in (None, t.external_id)]
            return [t.to_json(self.queues) for t in found]

    def show(self, ticket_id: int) -> Json:
        """One ticket; 404 when there is none."""
        with self._lock:
            return self._ticket(ticket_id).to_json(self.queues)

    def changes_after(self, after: int, since: datetime | None, limit: int) -> Json:
        """Changes with a sequence number above ``after`` (and at or after ``since``)."""
        with self._lock:
            page = [
                c for c in self.changes if c["seq"] > after and (since is None or c["at"] >= since)
            ][:limit]
            last = page[-1]["seq"] if page else max(after, len(self.changes))
            items = [{"seq": c["seq"], "ticket": c["ticket"]} for c in page]
        return {"changes": items, "after": last}

    # ---- what agents and customers do -------------------------------------------------------

    def reply(self, ticket_id: int, text: str) -> None:
        """A public agent reply: the ticket waits on the customer."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            ticket.replies.append(text)
            ticket.first_reply_at = ticket.first_reply_at or self.clock()
            ticket.status = "pending"
            self._changed(ticket, "replied")

    def reassign(self, ticket_id: int, queue_name: str) -> None:
        """Move the ticket to the queue called ``queue_name``."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            queue_id = next(q for q, name in self.queues.items() if name == queue_name)
            if queue_id != ticket.queue_id:
                ticket.transfer_count += 1
                ticket.queue_id = queue_id
            self._changed(ticket, "reassigned")

    def solve(self, ticket_id: int) -> None:
        """Solve the ticket."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            ticket.status, ticket.solved_at = "solved", self.clock()
            ticket.resolution_seconds = int((ticket.solved_at - ticket.created_at).total_seconds())
            self._changed(ticket, "solved")

    def rate(self, ticket_id: int, good: bool, comment: str | None = None) -> None:
        """The customer's rating."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            ticket.rating, ticket.rating_comment = ("good" if good else "bad"), comment
            self._changed(ticket, "rated")

    def reopen(self, ticket_id: int) -> None:
        """The customer writes back: open again."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            ticket.status, ticket.solved_at = "open", None
            ticket.reopen_count += 1
            self._changed(ticket, "reopened")

    def delete(self, ticket_id: int) -> None:
        """Delete the ticket: it stays readable with the status ``deleted``."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            ticket.status = "deleted"
            self._changed(ticket, "deleted")

    # ---- what tests do behind the API -------------------------------------------------------

    def duplicate(self, external_id: str) -> None:
        """A second ticket claiming ``external_id`` (made in the UI, past the API's keys)."""
        with self._lock:
            first = next(t for t in self.tickets.values() if t.external_id == external_id)
            twin = Ticket(
                id=len(self.tickets) + 1,
                external_id=external_id,
                subject="duplicate",
                priority=first.priority,
                queue_id=first.queue_id,
                created_at=self.clock(),
            )
            self.tickets[twin.id] = twin

    def event(self, ticket_id: int, event_id: str, status: str, at: datetime) -> Json:
        """The webhook event ToyDesk would send had the ticket reached ``status`` at ``at``."""
        with self._lock:
            snapshot = self._ticket(ticket_id).to_json(self.queues)
        snapshot.update(status=status, updated_at=_iso(at))
        return {"id": event_id, "type": "status", "ticket": snapshot, "occurred_at": _iso(at)}

    def _ticket(self, ticket_id: int) -> Ticket:
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise ToyError(404, "NotFound", "no such ticket") from None

    def _changed(self, ticket: Ticket, kind: str) -> Json:
        """Stamp, log and announce a change; the ticket's JSON after it."""
        ticket.updated_at = self.clock()
        snapshot = ticket.to_json(self.queues)
        seq = len(self.changes) + 1
        self.changes.append({"seq": seq, "at": ticket.updated_at, "ticket": snapshot})
        event = {"id": f"evt_{seq}", "type": kind, "ticket": snapshot}
        self.webhooks.emit({**event, "occurred_at": snapshot["updated_at"]})
        return snapshot


# ---- HTTP --------------------------------------------------------------------------------------
