"""Shared rate budgets and platform pauses in the store; :class:`~baton.core.store.Store`
provides the sessions.

A budget is one row per platform account: ``tokens`` as of ``refilled_at`` (seconds on the
processes' wall clock), refilled at the caller's rate up to its burst when read. Taking a token
reads and writes the row in one transaction under a row lock: ``SELECT … FOR UPDATE`` on
PostgreSQL, the ``BEGIN IMMEDIATE`` every write transaction starts with on SQLite (one writer
at a time, across processes). So no two processes spend the same token (RELIABILITY R1).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baton.core.tables import PlatformPauseRow, RateBudgetRow
from baton.core.times import utcnow

_EPSILON = 1e-9
_MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class Bucket:
    """What a caller knows of a budget: its account key, platform, refill rate (tokens per
    second) and burst (the most tokens it holds)."""

    account: str
    platform: str
    rate: float
    burst: float


@dataclass(frozen=True)
class PlatformPause:
    """A platform paused for every process until ``until``, and why."""

    platform: str
    until: datetime
    reason: str


class BudgetTables:
    """Budget and pause operations of the Store."""

    def session(self) -> AbstractContextManager[Session]:
        """A write transaction (provided by Store)."""
        raise NotImplementedError  # pragma: no cover

    def reading(self) -> AbstractContextManager[Session]:
        """A read transaction (provided by Store)."""
        raise NotImplementedError  # pragma: no cover

    # --- rate budgets ------------------------------------------------------------------

    def take_token(self, bucket: Bucket, *, now: float, reserve: float = 0.0) -> float:
        """Take one token of ``bucket``'s account and return 0, or return the seconds to wait
        (a pause, or the refill of the token plus ``reserve``, which is left alone)."""
        with self.session() as session:
            row = _locked_row(session, bucket, now)
            if now < row.paused_until:
                return row.paused_until - now
            tokens = _refilled(row, bucket, now)
            if tokens - reserve < 1.0 - _EPSILON:
                return (1.0 + reserve - tokens) / bucket.rate
            row.tokens = max(0.0, tokens - 1.0)
            row.refilled_at = max(row.refilled_at, now)
            return 0.0

    def pause_budget(self, bucket: Bucket, *, now: float, seconds: float) -> None:
        """No token for anyone before ``now + seconds`` (a longer pause stays); the bucket
        starts empty afterwards."""
        with self.session() as session:
            row = _locked_row(session, bucket, now)
            row.paused_until = max(row.paused_until, now + max(0.0, seconds))
            row.tokens = 0.0
            row.refilled_at = max(row.refilled_at, row.paused_until)

    def budget_paused_for(self, account: str, *, now: float) -> float:
        """Seconds left in ``account``'s pause (0 when none)."""
        with self.reading() as session:
            until = session.scalar(
                select(RateBudgetRow.paused_until).where(RateBudgetRow.account == account)
            )
        return max(0.0, (until or 0.0) - now)

    def clamp_budget(self, bucket: Bucket, *, now: float, remaining: int) -> bool:
        """The platform allows ``remaining`` more requests: drop the bucket to that figure
        when it holds more. True when it did."""
        if remaining >= bucket.burst:
            return False  # the bucket never holds more than its burst
        refilled = RateBudgetRow.tokens + (now - RateBudgetRow.refilled_at) * bucket.rate
        with self.session() as session:
            result = session.execute(
                update(RateBudgetRow)
                .where(
                    RateBudgetRow.account == bucket.account,
                    RateBudgetRow.refilled_at <= now,
                    refilled > remaining,
                )
                .values(tokens=float(max(0, remaining)), refilled_at=now)
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(result, "rowcount", 0))

    # --- platform pauses (401/403) -----------------------------------------------------

    def pause_platform(self, platform: str, *, until: datetime, reason: str) -> datetime:
        """Pause ``platform`` for every process until ``until`` (a longer pause stays);
        returns when the pause ends."""
        with self.session() as session:
            row = session.get(PlatformPauseRow, platform, with_for_update=True)
            if row is None:
                try:
                    with session.begin_nested():
                        row = PlatformPauseRow(
                            platform=platform,
                            until=until,
                            reason=reason[:_MAX_REASON_CHARS],
                            paused_at=utcnow(),
                        )
                        session.add(row)
                    return until
                except IntegrityError:  # another process paused it first
                    row = session.get(PlatformPauseRow, platform, with_for_update=True)
                    assert row is not None
            if until > row.until:
                row.until = until
                row.reason = reason[:_MAX_REASON_CHARS]
                row.paused_at = utcnow()
            return row.until

    def platform_pauses(self, now: datetime | None = None) -> dict[str, PlatformPause]:
        """Platforms paused at ``now`` (default: the current time)."""
        now = now or utcnow()
        with self.reading() as session:
            rows = session.scalars(select(PlatformPauseRow).where(PlatformPauseRow.until > now))
            return {r.platform: PlatformPause(r.platform, r.until, r.reason) for r in rows}


def _locked_row(session: Session, bucket: Bucket, now: float) -> RateBudgetRow:
    """The account's row under a row lock, created full when it is new."""
    row = session.get(RateBudgetRow, bucket.account, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = RateBudgetRow(
                account=bucket.account,
                platform=bucket.platform,
                tokens=float(bucket.burst),
                refilled_at=now,
                paused_until=0.0,
            )
            session.add(row)
        return row
    except IntegrityError:  # another process created it first
        row = session.get(RateBudgetRow, bucket.account, with_for_update=True)
        assert row is not None
        return row


def _refilled(row: RateBudgetRow, bucket: Bucket, now: float) -> float:
    return min(bucket.burst, row.tokens + max(0.0, now - row.refilled_at) * bucket.rate)
