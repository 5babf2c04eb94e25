"""Backfill: many handoffs from a file, each through the intake path, their tickets made in bulk.

Every line is one handoff's JSON and goes through :class:`~core.accept.HandoffGate` exactly
as ``POST /v1/handoffs`` would take it (validation, routing, redaction, storage with its
outbox row), so backfilled tickets are followed and reported like the rest. Only the platform
call is batched: the backfill leases the new outbox rows itself and, when the connector has a
bulk endpoint (:class:`BulkTicketCreator`), asks for up to ``bulk_limit`` tickets at a time;
otherwise one ticket per handoff, as the worker would.

Exactly once, run after run: the handoff id is the idempotency key in the store (the same
line again is ``existing`` and its delivery is no longer due) and on the platform (the bulk
create is an upsert on it). Attempts are counted before each call, as the worker counts them,
so a crash mid-call makes the next try look for the tickets first. Whatever the platform does
not make now goes back to the outbox with its reason, for the worker: nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Protocol, runtime_checkable

from baton.core.accept import HandoffGate
from baton.core.errors import AccessDenied, BatonError, PlatformError, Problem
from baton.core.handoff import Handoff, load_stored_handoff
from baton.core.ports import TicketCreator, TicketRef
from baton.core.ratelimit import yields_to_deliveries
from baton.core.store import ClaimedDelivery, LeaseLost, Store

DEFAULT_CHUNK = 200
LEASE_SECONDS = 300.0


@dataclass(frozen=True)
class BulkItem:
    """One handoff for a bulk create; ``first_attempt`` False when an earlier call may have
    made its ticket (look it up before making one)."""

    handoff: Handoff
    first_attempt: bool


@runtime_checkable
class BulkTicketCreator(Protocol):
    """A connector that makes many tickets in few calls, idempotently on the handoff id."""

    @property
    def bulk_limit(self) -> int:
        """How many handoffs one :meth:`create_tickets` call takes at most."""
        ...

    def create_tickets(self, items: Sequence[BulkItem]) -> list[TicketRef | PlatformError]:
        """Each item's ticket (made, or found from an earlier call), or why not, in order.

        An error for the whole call (the platform down, credentials refused) is raised."""
        ...


@dataclass
class BackfillSummary:
    """What a backfill did, line by line and ticket by ticket."""

    lines: int = 0
    accepted: int = 0
    existing: int = 0
    invalid: list[tuple[int, tuple[Problem, ...]]] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    tickets_created: int = 0
    tickets_found: int = 0
    left_to_worker: list[tuple[str, str]] = field(default_factory=list)  # (handoff id, reason)
    held_elsewhere: int = 0  # due deliveries a worker had already leased: it delivers them


def numbered_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Each non-blank line with its 1-based number."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


class Backfill:
    """Backfills handoffs into ``store`` and ``connector``'s platform."""

    def __init__(
        self,
        store: Store,
        gate: HandoffGate,
        connector: TicketCreator,
        *,
        owner: str,
        chunk: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.gate = gate
        self.connector = connector
        self.owner = owner
        bulk = connector.bulk_limit if isinstance(connector, BulkTicketCreator) else DEFAULT_CHUNK
        self.chunk = max(1, min(chunk or bulk, bulk))
        self.clock = clock

    @yields_to_deliveries
    def run(
        self, lines: Iterable[tuple[int, str]], progress: Callable[[int], None] = lambda _: None
    ) -> BackfillSummary:
        """Backfill every numbered line; ``progress(n)`` after each chunk of ``n`` lines. Its
        requests yield to deliveries (:func:`core.ratelimit.background`)."""
        summary = BackfillSummary()
        iterator = iter(lines)
        while batch := list(islice(iterator, self.chunk)):
            due = [self._accept(number, line, summary) for number, line in batch]
            self._deliver([handoff_id for handoff_id in due if handoff_id], summary)
            progress(len(batch))
        return summary

    def _accept(self, number: int, line: str, summary: BackfillSummary) -> str | None:
        summary.lines += 1
        accepted = self.gate.accept(line)
        if accepted.result == "invalid" or accepted.handoff is None:
            summary.invalid.append((number, accepted.problems))
            return None
        if accepted.result == "conflict":
            summary.conflicts.append(number)
            return None
        if accepted.result == "existing":
            summary.existing += 1
        else:
            summary.accepted += 1
        return accepted.handoff.id  # an existing one may still be due after a crashed run

    def _deliver(self, handoff_ids: list[str], summary: BackfillSummary) -> None:
        claims = self.store.claim_deliveries(
            self.owner,
            limit=len(handoff_ids),
            lease_seconds=LEASE_SECONDS,
            now=self.clock(),
            handoff_ids=handoff_ids,
        )
        delivered = {
            link.handoff_id
            for link in filter(None, (self.store.ticket_link(i) for i in handoff_ids))
        }
        summary.held_elsewhere += len(set(handoff_ids) - delivered - {c.handoff_id for c in claims})
        if not claims:
            return
        items = [self._counted(claim) for claim in claims]
        try:
            results = self._create(items)
        except AccessDenied:
            for claim in claims:
                self._back(claim, "credentials refused; paused", summary, refund=True)
            raise
        except PlatformError as exc:
            for claim in claims:
                self._back(claim, f"{type(exc).__name__}: {exc}", summary)
            return
        for claim, result in zip(claims, results, strict=True):
            if isinstance(result, PlatformError):
                self._back(claim, f"{type(result).__name__}: {result}", summary)
                continue
            self._settle(claim, result, summary)

    def _counted(self, claim: ClaimedDelivery) -> BulkItem:
        attempts = self.store.count_attempt(claim.delivery_id, self.owner)
        return BulkItem(load_stored_handoff(claim.body), first_attempt=attempts == 1)

    def _create(self, items: list[BulkItem]) -> list[TicketRef | PlatformError]:
        if isinstance(self.connector, BulkTicketCreator):
            return self.connector.create_tickets(items)
        results: list[TicketRef | PlatformError] = []
        for item in items:
            try:
                results.append(
                    self.connector.create_ticket(item.handoff, first_attempt=item.first_attempt)
                )
            except AccessDenied:
                raise
            except PlatformError as exc:
                results.append(exc)
        return results

    def _settle(self, claim: ClaimedDelivery, ref: TicketRef, summary: BackfillSummary) -> None:
        try:
            self.store.complete_delivery(
                claim.delivery_id,
                self.owner,
                ticket_id=ref.ticket_id,
                ticket_url=ref.url,
                route=ref.route,
                target=ref.target,
                backup=ref.backup,
            )
        except (LeaseLost, BatonError) as exc:
            summary.left_to_worker.append((claim.handoff_id, type(exc).__name__))
            return
        if ref.created:
            summary.tickets_created += 1
        else:
            summary.tickets_found += 1

    def _back(
        self, claim: ClaimedDelivery, reason: str, summary: BackfillSummary, *, refund: bool = False
    ) -> None:
        """The delivery goes back to the outbox, due now, for the worker and its retry rules."""
        with suppress(LeaseLost):  # someone else holds it now and will settle it
            self.store.release_delivery(
                claim.delivery_id, self.owner, at=self.clock(), error=reason, refund=refund
            )
        summary.left_to_worker.append((claim.handoff_id, reason[:200]))
