"""One rate budget per platform account, shared by every process (RELIABILITY R1).

Workers, the sync, backfills and the service each send requests to the same platform account;
each process's own token bucket would let N of them spend N budgets. :class:`AccountLimiter`
keeps the :class:`~core.ratelimit.RateLimiter` interface (``acquire``, ``pause_for``,
``paused_remaining``, ``observe``) but, once a store is shared with :func:`share_budgets`
(``core.database.open_store`` does, for every command), takes its tokens from that account's
row in the store (``core.store_budget``): a 429 pauses the account for every process, and
when an answer says the platform allows fewer requests than the bucket holds, the bucket
drops to that figure for every process. Without a shared store (tests, scripts that build
connectors alone) it is the in-process bucket. A store failure falls back to it too, with a
warning: a delivery is not held up because the budget row cannot be read.

The account key is the platform and its account (``zendesk:acme``, the Salesforce org or
instance, the HubSpot portal), so two deployments on one database with different accounts do
not share a budget.

pyrate-limiter and limits were considered: limits 5 has no SQL storage; pyrate-limiter's
SQLite bucket is multi-process safe only behind a file lock on its own sqlite3 connection,
its PostgreSQL bucket needs a psycopg_pool pool of its own and makes tables outside the
migrations, and neither knows a shared pause or the platform's own figure.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from baton.core.ratelimit import Clock, RateLimiter, Sleep
from baton.core.store_budget import Bucket

if TYPE_CHECKING:
    from baton.core.store import Store

log = logging.getLogger(__name__)

BURST_SECONDS = 1.0
"""An account's default burst: this many seconds of its allowance. ``rate + burst`` requests
at most in any minute, so a budget set at 98 % of a per-minute limit stays under it."""

_shared: Store | None = None
_shared_lock = threading.Lock()


def share_budgets(store: Store) -> None:
    """Take every account's tokens from ``store`` from now on, in this process."""
    global _shared
    with _shared_lock:
        _shared = store


def stop_sharing_budgets(store: Store) -> None:
    """Back to in-process buckets, if ``store`` is the one shared (it is being closed)."""
    global _shared
    with _shared_lock:
        if _shared is store:
            _shared = None


def shared_store() -> Store | None:
    """The store budgets are shared through in this process, if any."""
    return _shared


def default_burst(per_minute: float) -> int:
    """:data:`BURST_SECONDS` of ``per_minute``, at least one token."""
    return max(1, math.floor(per_minute / 60.0 * BURST_SECONDS))


class AccountLimiter(RateLimiter):
    """One platform account's budget: in the shared store when there is one, else in-process.

    ``wall_clock`` (seconds since the epoch, the same in every process) times the shared
    bucket; ``clock`` the in-process one. ``store`` pins the store instead of the shared one.
    """

    def __init__(
        self,
        account: str,
        platform: str,
        per_minute: float,
        burst: int | None = None,
        *,
        store: Store | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(
            per_minute,
            burst if burst is not None else default_burst(per_minute),
            clock=clock,
            sleep=sleep,
        )
        if not account or len(account) > 300:
            raise ValueError("account: between 1 and 300 characters")
        self.account = account
        self.bucket = Bucket(account, platform, self.per_minute / 60.0, float(self.burst))
        self._store = store
        self._wall = wall_clock
        self._warned = False

    def __repr__(self) -> str:
        where = "shared" if self._home() is not None else "in-process"
        return f"AccountLimiter({self.account!r}, {self.per_minute:g}/min, {where})"

    def _home(self) -> Store | None:
        return self._store if self._store is not None else shared_store()

    def _fallback(self, exc: SQLAlchemyError) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "%s: the shared rate budget is unreachable (%s); using this process's own",
                self.account,
                type(exc).__name__,
            )

    def _next_wait(self, reserve: float) -> float:
        home = self._home()
        if home is not None:
            try:
                return home.take_token(self.bucket, now=self._wall(), reserve=reserve)
            except SQLAlchemyError as exc:
                self._fallback(exc)
        return super()._next_wait(reserve)

    def pause_for(self, seconds: float) -> None:
        """Stop every caller, in every process, for ``seconds`` from now."""
        super().pause_for(seconds)
        home = self._home()
        if home is not None:
            try:
                home.pause_budget(self.bucket, now=self._wall(), seconds=seconds)
            except SQLAlchemyError as exc:
                self._fallback(exc)

    def paused_remaining(self) -> float:
        """Seconds left in the account's pause (0 when not paused)."""
        local = super().paused_remaining()
        home = self._home()
        if home is None:
            return local
        try:
            return max(local, home.budget_paused_for(self.account, now=self._wall()))
        except SQLAlchemyError as exc:
            self._fallback(exc)
            return local

    def observe(self, remaining: int | None) -> None:
        """The platform allows ``remaining`` more requests: the shared bucket drops to it."""
        super().observe(remaining)
        home = self._home()
        if home is None or remaining is None:
            return
        try:
            home.clamp_budget(self.bucket, now=self._wall(), remaining=remaining)
        except SQLAlchemyError as exc:
            self._fallback(exc)


def account_limiter(
    platform: str, account: str, per_minute: float, burst: int | None = None
) -> AccountLimiter:
    """The limiter of ``platform``'s ``account`` (keyed ``platform:account``) for a connector."""
    return AccountLimiter(f"{platform}:{account}", platform, per_minute, burst)
