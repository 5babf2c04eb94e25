"""When to try a delivery again (RELIABILITY O6).

An attempt is one platform call; the worker counts each in the store just before making it.
Two levels. Within one claim, a few quick in-process retries (tenacity) whose waits honour the
platform's ``Retry-After`` and fit in the lease. A call that got no answer (the connection
dropped, the request timed out) has an unknown outcome: the platform may have made the ticket.
It is tried again almost at once, because the next call first looks the ticket up and sends the
same idempotency key; a 429 or 5xx waits ``Retry-After``, else a longer exponential wait. After
that, the delivery goes back to the outbox, due again after ``max(Retry-After,
backoff(attempts))``; once ``max_attempts`` calls have failed it is dead-lettered (quick retries
never go past that number).

With the defaults and a platform failing every call (three quick tries per claim), the claims
wait 2 min, 16 min, then an hour each (plus jitter): 20 calls over four to five hours before a
dead letter. A long ``Retry-After`` ends each claim after one call, so the same 20 calls then
take longer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from baton.core.errors import RetryableError

_MAX_EXPONENT = 30  # 2**30 × any sane base is far beyond backoff_max already


@dataclass(frozen=True)
class RetryPolicy:
    """How hard and how long a delivery is retried.

    ``max_attempts`` is the number of platform calls (quick retries included) after which a failing
    delivery is dead-lettered; ``quick_*`` govern the in-process retries within one claim
    (``quick_unanswered`` replaces ``quick_initial`` after a call that got no answer);
    ``backoff_*`` the delay before the next claim; ``pause_seconds`` how long a platform that
    refused Baton's credentials (401/403) is left alone.
    """

    max_attempts: int = 20
    quick_tries: int = 3
    quick_initial: float = 1.0
    quick_unanswered: float = 0.1
    quick_max: float = 10.0
    quick_budget: float = 20.0
    backoff_initial: float = 30.0
    backoff_max: float = 3600.0
    jitter: float = 0.25
    pause_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.quick_tries < 1:
            raise ValueError("max_attempts and quick_tries must be at least 1")
        if self.backoff_initial <= 0:
            raise ValueError("backoff_initial must be positive")

    def backoff(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before the next claim after ``attempts`` failed calls.

        Exponential from ``backoff_initial``, capped at ``backoff_max``, plus up to ``jitter``
        (a fraction) more so that many failed deliveries do not come back all at once.
        """
        exponent = min(max(0, attempts - 1), _MAX_EXPONENT)
        base = min(self.backoff_max, self.backoff_initial * 2.0**exponent)
        draw = rng.random() if rng is not None else random.random()  # noqa: S311 - jitter
        return base * (1 + self.jitter * draw)

    def next_delay(
        self, attempts: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """The delay before the next claim: the backoff, but never less than ``Retry-After``."""
        return max(retry_after or 0.0, self.backoff(attempts, rng))

    def quick_retrying(
        self,
        *,
        budget: float,
        sleep: Callable[[float], None],
        before_sleep: Callable[[RetryCallState], None] | None = None,
        stop_when: Callable[[], bool] | None = None,
    ) -> Retrying:
        """A tenacity ``Retrying`` for the in-process retries of one claim.

        Retries only :class:`RetryableError`; waits ``max(Retry-After, exponential backoff with
        jitter)``, the backoff from ``quick_unanswered`` when the call got no answer (``status``
        None: its outcome is unknown) and from ``quick_initial`` otherwise; stops after
        ``quick_tries``, as soon as the next wait would pass ``budget`` seconds (so a long
        ``Retry-After`` goes back to the outbox instead of outliving the lease), or when
        ``stop_when()`` says so (the delivery has used up ``max_attempts``). Re-raises the last
        error.
        """
        stop = stop_after_attempt(self.quick_tries) | stop_before_delay(budget)
        if stop_when is not None:
            stop = stop | StopWhen(stop_when)
        return Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop,
            wait=WaitRetryAfter(
                _jittered(self.quick_initial, self.quick_max),
                unanswered=_jittered(self.quick_unanswered, self.quick_max),
            ),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )


class StopWhen(stop_base):
    """Stop retrying as soon as ``check()`` is true."""

    def __init__(self, check: Callable[[], bool]) -> None:
        self.check = check

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.check()


def _jittered(initial: float, cap: float) -> wait_base:
    """Exponential from ``initial`` (capped at ``cap``) plus up to ``initial`` of jitter."""
    return wait_exponential(multiplier=initial, max=cap) + wait_random(0, initial)


class WaitRetryAfter(wait_base):
    """Wait at least what the platform asked for (``RetryableError.retry_after``), otherwise
    what ``fallback`` says, or ``unanswered`` (when given) after a call that got no answer."""

    def __init__(self, fallback: wait_base, unanswered: wait_base | None = None) -> None:
        self.fallback = fallback
        self.unanswered = unanswered or fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if not isinstance(error, RetryableError):
            return self.fallback(retry_state)
        wait = self.unanswered if error.status is None else self.fallback
        return max(error.retry_after or 0.0, wait(retry_state))
