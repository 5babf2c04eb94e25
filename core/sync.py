"""The sync runner: pulls a platform's changes from a stored cursor (RELIABILITY S1–S4).

Each page of a :class:`~core.ports.ChangeFeed` is applied in ONE transaction together with the
cursor after it, so a job killed at any point resumes from the last committed page with no
loss and no double effect (S2). Applying an observation is idempotent: one already stored —
same platform, ticket, ``occurred_at`` and outcome, from a webhook or an earlier run — is not
stored again (S1). A lock with an expiring lease keeps two runs of one job from overlapping,
and fences them: a run that lost its lock cannot commit another page. A live run renews its
lease from a thread of its own, between pages too (a page may wait long for the rate budget),
so the lease can be short: a run killed with -9 holds up the next one for at most
:data:`DEFAULT_LOCK_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from baton.core.errors import BatonError, PayloadError
from baton.core.ports import ChangeFeed, ChangePage, ReplyFeed
from baton.core.ratelimit import yields_to_deliveries
from baton.core.storable import is_storable
from baton.core.store import Store
from baton.core.times import utcnow

log = logging.getLogger(__name__)

DEFAULT_LOCK_SECONDS = 90.0
BEATS_PER_LEASE = 3  # a live run renews its lease this many times before it would run out


class SyncLocked(BatonError):
    """Another run of the same sync job holds its lock (or took it over): nothing was done."""

    def __init__(self, name: str, holder: str, until: datetime | None) -> None:
        self.name = name
        self.holder = holder
        self.until = until
        when = f" until {until:%Y-%m-%dT%H:%M:%SZ}" if until is not None else ""
        super().__init__(f"sync {name}: another run ({holder}) holds the lock{when}")


@dataclass
class SyncSummary:
    """What one run did. ``applied`` observations were new; ``duplicates`` were already
    stored; ``skipped`` were tickets Baton did not create (or the feed set aside)."""

    name: str
    pages: int = 0
    examined: int = 0
    applied: int = 0
    duplicates: int = 0
    skipped: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None

    @property
    def advanced(self) -> bool:
        """Whether the cursor moved."""
        return self.cursor_after != self.cursor_before


def default_sync_owner() -> str:
    """A lock owner naming this run: ``host:pid:random``."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@yields_to_deliveries
def run_sync(
    store: Store,
    feed: ChangeFeed,
    *,
    name: str,
    since: datetime,
    on_page: Callable[[ChangePage], None] | None = None,
    progress: Callable[[SyncSummary], None] | None = None,
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
    owner: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> SyncSummary:
    """Apply ``feed``'s changes after the cursor stored under ``name`` (or after ``since``).

    Its requests yield to deliveries (:func:`core.ratelimit.background`). Raises
    :class:`SyncLocked` when another run holds the lock; any error from the feed
    propagates after the pages before it were committed. ``on_page`` and ``progress`` (the
    running totals) are called after each page commits. ``clock`` times the lock's lease.
    """
    owner = owner or default_sync_owner()
    lock = store.acquire_sync_lock(name, owner, seconds=lock_seconds, now=clock())
    if lock.owner != owner:
        raise SyncLocked(name, lock.owner, lock.expires_at)
    heartbeat = _LockHeartbeat(store, name, owner, lock_seconds, clock)
    try:
        with store.session() as session:
            cursor = store.get_cursor(session, name)
        summary = SyncSummary(name=name, cursor_before=cursor, cursor_after=cursor)
        for page in feed.changes(cursor, since=since):
            with store.session() as session:
                if not store.renew_sync_lock(
                    session, name, owner, seconds=lock_seconds, now=clock()
                ):
                    holder = store.sync_lock(name)
                    raise SyncLocked(
                        name,
                        holder.owner if holder else "nobody",
                        holder.expires_at if holder else None,
                    )
                if not is_storable(page.cursor):
                    # Storing it would fail on PostgreSQL on every run from here on (K5).
                    raise PayloadError("the platform returned a cursor that cannot be stored")
                counts = _apply_page(store, session, page)
                store.set_cursor(session, name, page.cursor)
            _add(summary, page, counts)
            if on_page is not None:
                on_page(page)
            if progress is not None:
                progress(summary)
            if page.done:
                break
        return summary
    finally:
        heartbeat.stop()
        store.release_sync_lock(name, owner)


class _LockHeartbeat:
    """Renews a run's lock every ``seconds / BEATS_PER_LEASE`` until stopped. A renewal that
    finds the lock taken stops beating (the next page's renewal then raises SyncLocked); one
    the database refuses is logged and tried again at the next beat."""

    def __init__(
        self,
        store: Store,
        name: str,
        owner: str,
        seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._store, self._name, self._owner = store, name, owner
        self._seconds, self._clock = seconds, clock
        self._interval = seconds / BEATS_PER_LEASE
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"sync-lock:{name}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                with self._store.session() as session:
                    now = self._clock()
                    if not self._store.renew_sync_lock(
                        session, self._name, self._owner, seconds=self._seconds, now=now
                    ):
                        return
            except Exception as exc:  # the store is down: the lease may still be renewed later
                log.warning(
                    "sync %s: could not renew its lock (%s)", self._name, type(exc).__name__
                )

    def stop(self) -> None:
        """Stop renewing (before the lock is released)."""
        self._stopped.set()
        self._thread.join()


@dataclass(frozen=True)
class _PageCounts:
    applied: int
    duplicates: int
    unlinked: list[str]


def _apply_page(store: Store, session: Session, page: ChangePage) -> _PageCounts:
    applied = duplicates = 0
    unlinked: list[str] = []
    for disposition in page.dispositions:
        linked = store.with_handoff(disposition, session=session)
        if linked.handoff_id is None:  # a ticket Baton did not create
            unlinked.append(disposition.ticket_id)
        elif store.add_disposition(linked, session=session):
            applied += 1
        else:
            duplicates += 1
    for reply in page.replies:
        if store.add_reply(reply, session=session):
            applied += 1
        elif store.handoff_for_ticket(reply.platform, reply.ticket_id, session=session) is None:
            unlinked.append(reply.ticket_id)  # not recorded because no handoff has the ticket
        else:
            duplicates += 1
    return _PageCounts(applied, duplicates, unlinked)


def _add(summary: SyncSummary, page: ChangePage, counts: _PageCounts) -> None:
    summary.pages += 1
    summary.examined += max(page.examined, len(page.dispositions) + len(page.replies))
    summary.applied += counts.applied
    summary.duplicates += counts.duplicates
    summary.skipped += len(page.skipped) + len(counts.unlinked)
    summary.cursor_after = page.cursor


REPLIES_SUFFIX = ".replies"


@dataclass(frozen=True)
class _RepliesAsChanges:
    """A reply feed seen as a change feed, so replies heal under the same runner: pages and
    cursor commit together, a lock of their own."""

    feed: ReplyFeed

    @property
    def platform(self) -> str:
        return self.feed.platform

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        return self.feed.reply_changes(cursor, since=since)


def sync_replies(
    store: Store, feed: ReplyFeed, *, name: str, since: datetime, **options: Any
) -> SyncSummary:
    """:func:`run_sync` over ``feed``'s replies, under the job name ``name + ".replies"`` (its
    own cursor and lock). ``options`` are run_sync's."""
    return run_sync(
        store, _RepliesAsChanges(feed), name=name + REPLIES_SUFFIX, since=since, **options
    )


def since_default(store: Store, platform: str | None, now: datetime | None = None) -> datetime:
    """Where a first run starts: the oldest handoff's arrival, or 7 days ago when none."""
    oldest = store.oldest_handoff_at(platform)
    if oldest is not None:
        return oldest
    return (now or utcnow()) - timedelta(days=7)


__all__ = [
    "DEFAULT_LOCK_SECONDS",
    "REPLIES_SUFFIX",
    "SyncLocked",
    "SyncSummary",
    "default_sync_owner",
    "run_sync",
    "since_default",
    "sync_replies",
]
