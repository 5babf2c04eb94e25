"""Group commit for the webhook inbox: one writer thread, many requests per transaction.

A webhook request used to record its events in a transaction of its own, so each one paid for
a session, a ``BEGIN IMMEDIATE`` and a commit (an fsync on SQLite, a round trip on PostgreSQL),
one after the other behind SQLite's single writer. Here each request hands its events to
:meth:`InboxWriter.record` and waits on the future it gets back; one thread takes every request
waiting at that moment and records them all with :meth:`Store.record_inbound_events` in one
transaction. No delay is added to gather a batch: requests that arrive while a commit is under
way form the next one, so a quiet service commits each request alone and a busy one commits
many per fsync.

A future is resolved only after its batch has committed (RELIABILITY K2: no 2xx before the
durable write), with one flag per event: True when new, False for a duplicate (one already
stored, or an earlier copy in the same batch; the unique ``(platform, event_id)`` decides, D2).
A failed transaction stores nothing and fails every future of its batch, except when the
database refused a value (:data:`UNSTORABLE_ERRORS`): then each request is recorded again on
its own, so only the one carrying the bad value fails and the others are not held hostage.

The thread starts with the first request and ends after ``idle_seconds`` without one, so an app
needs no start or stop for it (tests build many apps; a forked child starts its own).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from baton.core.store import UNSTORABLE_ERRORS

DEFAULT_MAX_EVENTS = 500  # per transaction: bounds one commit's size and its latency
DEFAULT_IDLE_SECONDS = 2.0


class InboxRecorder(Protocol):
    """What the writer needs of the store (:meth:`Store.record_inbound_events`)."""

    def record_inbound_events(self, events: Sequence[tuple[str, str, bytes]]) -> list[bool]:
        """Record ``(platform, event_id, body)`` in one transaction; True for each new one."""
        ...


@dataclass(frozen=True)
class _Request:
    events: list[tuple[str, str, bytes]]
    future: Future[list[bool]]


class InboxWriter:
    """Records the inbox events of concurrent webhook requests in shared transactions."""

    def __init__(
        self,
        store: InboxRecorder,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
    ) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self.store = store
        self.max_events = max_events
        self.idle_seconds = idle_seconds
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._waiting = threading.Condition(self._lock)
        self._queue: deque[_Request] = deque()
        self._thread: threading.Thread | None = None
        self._closing = False

    def record(self, platform: str, events: Sequence[tuple[str, bytes]]) -> Future[list[bool]]:
        """Queue ``events`` (``(event_id, body)``) of one request; the future resolves, once
        their transaction has committed, to one flag per event (True: new), or fails with the
        store's error and nothing of this request stored."""
        future: Future[list[bool]] = Future()
        if not events:
            future.set_result([])
            return future
        request = _Request([(platform, event_id, body) for event_id, body in events], future)
        if os.getpid() != self._pid:  # a forked child: the parent's thread is not here
            self._reset()
        with self._lock:
            self._queue.append(request)
            if self._thread is None:
                self._closing = False
                self._thread = threading.Thread(
                    target=self._run, name="baton-inbox-writer", daemon=True
                )
                self._thread.start()
            else:
                self._waiting.notify()
        return future

    def close(self, timeout: float | None = None) -> None:
        """Record what is queued, then stop the thread (the next request starts another)."""
        with self._lock:
            thread = self._thread
            self._closing = True
            self._waiting.notify()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    idle = self._closing or not self._waiting.wait(self.idle_seconds)
                    if idle and not self._queue:
                        self._thread = None
                        return
                batch = self._take()
            if batch:
                self._write(batch)

    def _take(self) -> list[_Request]:
        """The waiting requests, oldest first, up to ``max_events`` events (always at least
        one request, whatever its size); cancelled ones are dropped."""
        batch: list[_Request] = []
        size = 0
        while self._queue:
            request = self._queue[0]
            if batch and size + len(request.events) > self.max_events:
                break
            self._queue.popleft()
            if request.future.set_running_or_notify_cancel():
                batch.append(request)
                size += len(request.events)
        return batch

    def _write(self, batch: list[_Request]) -> None:
        try:
            flags = self.store.record_inbound_events([e for r in batch for e in r.events])
        except UNSTORABLE_ERRORS as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            for request in batch:  # find the request the database refuses; keep the others
                self._write([request])
            return
        except Exception as exc:  # an outage: nothing of the batch is stored, all may retry
            for request in batch:
                request.future.set_exception(exc)
            return
        start = 0
        for request in batch:
            end = start + len(request.events)
            request.future.set_result(flags[start:end])
            start = end
