"""Fakes for the job tests: a ticket creator that records calls, change feeds, builders, and
helpers to build a delivery worker and read what it did."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from baton.core.delivery import DeliveryMetrics, DeliveryWorker
from baton.core.disposition import Disposition, Outcome
from baton.core.errors import RetryableError
from baton.core.handoff import Handoff, Platform
from baton.core.ports import ChangePage, TicketRef
from baton.core.retry import RetryPolicy
from baton.core.store import DeliveryView, Store
from tests.support.builders import make_handoff

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_disposition(
    ticket_id: str,
    outcome: Outcome,
    at: datetime,
    *,
    handoff_id: str | None = None,
    source: str = "sync",
    platform: Platform = "zendesk",
) -> Disposition:
    """An observation of ticket ``ticket_id``."""
    return Disposition(
        handoff_id=handoff_id,
        platform=platform,
        ticket_id=ticket_id,
        outcome=outcome,
        occurred_at=at,
        source=source,  # type: ignore[arg-type]
    )


def link_tickets(store: Store, ticket_ids: Sequence[str], platform: Platform = "zendesk") -> None:
    """Make handoff ``h-<ticket>`` delivered as ticket ``<ticket>`` for each id."""
    for ticket_id in ticket_ids:
        store.add_handoff(make_handoff(f"h-{ticket_id}"), platform)
    claims = store.claim_deliveries("linker", limit=len(ticket_ids))
    for claim in claims:
        ticket = claim.handoff_id.removeprefix("h-")
        store.complete_delivery(claim.delivery_id, "linker", ticket_id=ticket, ticket_url=None)


# --- the delivery worker ------------------------------------------------------------------

FAST = RetryPolicy(quick_tries=3, quick_initial=0.01, quick_max=0.05)


def make_worker(
    store: Store,
    creators: dict[str, Any],
    metrics: DeliveryMetrics,
    *,
    owner: str = "w-1",
    policy: RetryPolicy = FAST,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] | None = None,
    **options: Any,
) -> DeliveryWorker:
    """A worker with fast quick retries, a clock of now and a sleep that does not sleep."""
    return DeliveryWorker(
        store,
        creators,
        owner=owner,
        policy=policy,
        clock=clock or (lambda: datetime.now(UTC)),
        sleep=sleep or NoSleep(),
        metrics=metrics,
        **options,
    )


def only(store: Store) -> DeliveryView:
    """The store's only delivery."""
    [view] = store.list_deliveries()
    return view


def count(registry: CollectorRegistry, result: str, platform: str = "zendesk") -> float:
    """``baton_deliveries_total`` for ``platform`` and ``result`` (0 when never counted)."""
    value = registry.get_sample_value(
        "baton_deliveries_total", {"platform": platform, "result": result}
    )
    return value or 0.0


def retryable(status: int | None = 503, retry_after: float | None = None) -> RetryableError:
    """A Zendesk RetryableError (status None: a connection error)."""
    code = "connection_error" if status is None else None
    return RetryableError(
        "try again", platform="zendesk", status=status, code=code, retry_after=retry_after
    )


class NoSleep:
    """Records the waits tenacity asks for, without sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeCreator:
    """A TicketCreator that records every call and answers from a script.

    Each call pops the next scripted outcome: an exception is raised, ``None`` succeeds.
    With the script empty every call succeeds. One ticket per handoff id, like a platform
    honouring the idempotency key. ``backups`` records each call's ``use_backup``; a ticket
    made on the backup has the route ``"fake (backup)"``.
    """

    def __init__(
        self, platform: Platform = "zendesk", script: Sequence[BaseException | None] = ()
    ) -> None:
        self.platform = platform
        self.script = list(script)
        self.calls: list[tuple[str, bool]] = []
        self.backups: list[bool] = []
        self.tickets: dict[str, str] = {}
        self.created: list[str] = []
        self._lock = threading.Lock()

    def create_ticket(
        self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
    ) -> TicketRef:
        with self._lock:
            self.calls.append((handoff.id, first_attempt))
            self.backups.append(use_backup)
            if self.script:
                outcome = self.script.pop(0)
                if outcome is not None:
                    raise outcome
            created = handoff.id not in self.tickets
            if created:
                self.tickets[handoff.id] = str(1000 + len(self.tickets))
                self.created.append(handoff.id)
            ticket = self.tickets[handoff.id]
            route, target = ("fake (backup)", "backup") if use_backup else ("fake", "chosen")
            url = f"https://desk.test/{ticket}"
            return TicketRef(self.platform, ticket, url, created, route, target, use_backup)

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ChangeLog:
    """A platform's change log served as an incremental feed.

    The cursor is the number of entries read. ``overlap`` re-serves that many entries before
    the cursor (a boundary re-delivered, as start-time based exports do). ``append`` while a
    run is going on is seen by the pages not yet served.
    """

    def __init__(
        self,
        entries: Sequence[Disposition] = (),
        *,
        page_size: int = 2,
        overlap: int = 0,
        platform: Platform = "zendesk",
    ) -> None:
        self.platform = platform
        self.entries = list(entries)
        self.page_size = page_size
        self.overlap = overlap
        self.requests: list[str | None] = []
        self.served = 0

    def append(self, *entries: Disposition) -> None:
        self.entries.extend(entries)

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        self.requests.append(cursor)
        if cursor is None:
            pos = next(
                (i for i, d in enumerate(self.entries) if d.occurred_at >= since),
                len(self.entries),
            )
        else:
            pos = max(0, int(cursor) - self.overlap)
        while True:
            chunk = self.entries[pos : pos + self.page_size]
            pos += len(chunk)
            done = pos >= len(self.entries)
            self.served += 1
            yield ChangePage(list(chunk), str(pos), done, examined=len(chunk))
            if done:
                return

    def close(self) -> None:
        pass


class ScriptedFeed:
    """Yields the given pages (raising any exception among them) and counts what it served."""

    def __init__(self, pages: Sequence[ChangePage | BaseException], platform: Platform = "zendesk"):
        self.platform = platform
        self.pages = list(pages)
        self.served = 0
        self.cursors: list[str | None] = []
        self.sinces: list[datetime] = []

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        self.cursors.append(cursor)
        self.sinces.append(since)
        for item in self.pages:
            if isinstance(item, BaseException):
                raise item
            self.served += 1
            yield item

    def create_ticket(
        self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
    ) -> TicketRef:
        raise NotImplementedError

    def close(self) -> None:
        pass


def kill_test_log() -> ChangeLog:
    """The feed of the SIGKILL test: 8 observations of tickets 1–4, 2 per page."""
    entries = []
    for n in range(4):
        ticket = str(n + 1)
        entries.append(make_disposition(ticket, "open", T0 + timedelta(minutes=n)))
        entries.append(make_disposition(ticket, "resolved", T0 + timedelta(hours=1, minutes=n)))
    return ChangeLog(entries, page_size=2)
