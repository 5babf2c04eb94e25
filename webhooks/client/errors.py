"""The client's exception tree, rooted at Baton's own :class:`~baton.core.errors.BatonError`.

::

    BatonError                      (baton.core.errors.BatonError: every error Baton raises)
    ├── InvalidHandoff              the handoff breaks the model: checked before sending, or
    │                               Baton's 422; ``problems`` holds every {path, message}
    │                               (also a baton.core.errors.ValidationError)
    ├── HandoffConflict             409: this id was already received with another handoff
    ├── Unauthorized                401: missing or wrong API key
    ├── NotFound                    404: no handoff with this id
    ├── ServiceUnavailable          429 or 5xx, still so after every retry (``status``,
    │                               ``retry_after``)
    ├── TransportError              no answer (connection refused or reset, timeout), still so
    │                               after every retry; ``__cause__`` is httpx's error
    ├── UnexpectedResponse          any other answer (400, 413, 415 …, or not Baton's JSON)
    ├── WaitTimeout                 ``wait`` ran out before the handoff got there (``last``)
    └── CallbackVerificationError   ``verify_callback``: not an authentic callback event

Messages name the status, the handoff id and field paths; never the API key, a callback
secret or any text of the handoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from baton.core.errors import BatonError, Problem, ValidationError

if TYPE_CHECKING:
    from baton.client.models import HandoffStatus


class InvalidHandoff(ValidationError):
    """The handoff breaks the model; ``problems`` lists each ``Problem(path, message)``.

    ``status`` is 422 when Baton said so, None when the client found it before sending.
    """

    def __init__(self, problems: Sequence[Problem], *, status: int | None = None) -> None:
        super().__init__(problems)
        self.status = status


class HandoffConflict(BatonError):
    """409: the handoff id was already received with a different handoff (never retried)."""

    def __init__(self, handoff_id: str) -> None:
        super().__init__(f"handoff {handoff_id}: already received with a different body (409)")
        self.handoff_id = handoff_id


class Unauthorized(BatonError):
    """401: the API key is missing or not one of the service's ``BATON_API_KEYS``."""


class NotFound(BatonError):
    """404: no handoff with this id."""


class ServiceUnavailable(BatonError):
    """Baton answered 429 or 5xx (``status``); raised once the retries are used up.

    ``retry_after``: the seconds Baton asked to wait, when it said.
    """

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        hint = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        super().__init__(f"Baton answered {status}{hint}")
        self.status = status
        self.retry_after = retry_after


class TransportError(BatonError):
    """No answer from Baton (connection refused or reset, timeout); once retries are used up.

    The httpx error is the ``__cause__``; ``retryable``: whether sending again could help
    (a timeout or a dropped connection, not a malformed URL).
    """

    retryable: bool = False


class UnexpectedResponse(BatonError):
    """An answer the client does not expect (400, 413, 415, or a body that is not Baton's)."""

    def __init__(self, status: int, error: str | None = None) -> None:
        super().__init__(f"Baton answered {status}" + (f" ({error})" if error else ""))
        self.status = status
        self.error = error


class WaitTimeout(BatonError):
    """``wait`` ran out of time; ``last`` is the last status read."""

    def __init__(self, handoff_id: str, until: str, timeout: float, last: HandoffStatus) -> None:
        super().__init__(f"handoff {handoff_id}: no {until} within {timeout:g} s")
        self.handoff_id = handoff_id
        self.until = until
        self.last = last


class CallbackVerificationError(BatonError):
    """The request is not an authentic callback event (signature, timestamp, headers, body)."""


__all__ = [
    "BatonError",
    "CallbackVerificationError",
    "HandoffConflict",
    "InvalidHandoff",
    "NotFound",
    "ServiceUnavailable",
    "TransportError",
    "Unauthorized",
    "UnexpectedResponse",
    "WaitTimeout",
]
