"""``baton.client``: a small typed client for a Baton service, sync and async.

::

    from baton.client import BatonClient

    with BatonClient("https://baton.example.com", api_key) as baton:
        accepted = baton.handoff(handoff)            # a Handoff or a dict; validated first
        status = baton.wait(accepted.id, until="ticket", timeout=30)
        print(status.ticket.url if status.ticket else "no ticket yet")

:class:`AsyncBatonClient` has the same methods, awaited. :func:`verify_callback` checks a
callback from Baton on the receiving side. Errors: see :mod:`baton.client.errors` (one tree
under :class:`BatonError`). Retries: see :mod:`baton.client.protocol`.
"""

from baton.client.aio import AsyncBatonClient
from baton.client.callbacks import verify_callback
from baton.client.errors import (
    BatonError,
    CallbackVerificationError,
    HandoffConflict,
    InvalidHandoff,
    NotFound,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
    WaitTimeout,
)
from baton.client.models import Accepted, FieldWarning, HandoffStatus, PublicReply, TicketRef
from baton.client.sync import BatonClient
from baton.core.handoff import Handoff

__all__ = [
    "Accepted",
    "AsyncBatonClient",
    "BatonClient",
    "BatonError",
    "CallbackVerificationError",
    "FieldWarning",
    "Handoff",
    "HandoffConflict",
    "HandoffStatus",
    "InvalidHandoff",
    "NotFound",
    "PublicReply",
    "ServiceUnavailable",
    "TicketRef",
    "TransportError",
    "Unauthorized",
    "UnexpectedResponse",
    "WaitTimeout",
    "verify_callback",
]
