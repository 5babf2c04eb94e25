"""What core needs from a platform, as protocols.

``core`` imports no platform SDK: the delivery worker, the inbox processor and the sync runner
talk to platforms only through these protocols, which the connectors in ``connectors/``
implement. Everything a connector raises is from :mod:`core.errors`:
``RetryableError`` (429, 5xx, connection errors, timeouts; carries ``retry_after``),
``AccessDenied`` (401/403: pause the connection), ``IdempotencyConflict``, ``FatalError``
(any other refusal), ``VerificationError`` / ``PayloadError`` for inbound webhooks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from baton.core.catalog import Catalog
from baton.core.disposition import Disposition
from baton.core.handoff import Handoff, Platform
from baton.core.replies import PublicReply


@dataclass(frozen=True)
class TicketRef:
    """The platform's ticket for a handoff.

    ``route`` and ``target`` label where the create sent it (``"VIP billing (backup)"``,
    ``"group General Support"``), ``backup`` says it was the mapping's backup target; None
    when the connector cannot tell.
    """

    platform: Platform
    ticket_id: str
    url: str | None
    created: bool = True
    route: str | None = None
    target: str | None = None
    backup: bool | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """One event inside a verified webhook body (a HubSpot body holds several); ``replies``:
    the public replies by people it reports (only on platforms whose connector reads them)."""

    event_id: str
    occurred_at: datetime
    disposition: Disposition | None = None
    reread: str | None = None  # the ticket to read again after the ack: the body lacked fields
    replies: tuple[PublicReply, ...] = ()


@dataclass(frozen=True)
class ChangePage:
    """One page of an incremental change feed, and the checkpoint after it (``replies``:
    public replies by people, from a feed that carries comments)."""

    dispositions: list[Disposition]
    cursor: str
    done: bool
    examined: int = 0
    skipped: list[str] = field(default_factory=list)
    replies: list[PublicReply] = field(default_factory=list)


@runtime_checkable
class ReplyFeed(Protocol):
    """Reads the public replies people made since a checkpoint, from a feed of its own (its
    own cursor): for platforms whose ticket change feed carries no comments."""

    @property
    def platform(self) -> Platform:
        """The platform this reads."""
        ...

    def reply_changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """Pages of replies (``ChangePage.replies``) after ``cursor`` (or ``since``)."""
        ...


class TicketCreator(Protocol):
    """Creates the ticket for a handoff, idempotently (the handoff id is the key)."""

    @property
    def platform(self) -> Platform:
        """The platform this creates tickets on."""
        ...

    def create_ticket(
        self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
    ) -> TicketRef:
        """Create the ticket, or find the one an earlier attempt created.

        ``first_attempt=False`` says an earlier attempt may have reached the platform (a crash,
        a lost response): the connector must look for that ticket before creating one.
        ``use_backup=True`` sends it to the mapping's backup target (after a TargetRefused).
        """
        ...


class ChangeFeed(Protocol):
    """Reads what changed on the platform since a checkpoint."""

    @property
    def platform(self) -> Platform:
        """The platform this reads."""
        ...

    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """Pages of dispositions after ``cursor`` (or, with no cursor, after ``since``)."""
        ...


@dataclass(frozen=True)
class WebhookReply:
    """The answer a platform expects to a webhook it delivered (e.g. a SOAP acknowledgement)."""

    body: bytes
    media_type: str
    status: int = 200


class WebhookSource(Protocol):
    """Proves an inbound webhook authentic, reads it, and says how to acknowledge it.

    How a route authenticates is the source's own: a signature with a timestamp window, a
    signature over the public URL, or an unsigned message whose organisation id is checked and
    whose URL ends in a secret path segment (``/webhooks/<platform>/<secret>``: ``url`` then
    carries that segment). Whatever the scheme, only a clean return of ``verify_webhook``
    proves a body authentic.
    """

    @property
    def platform(self) -> Platform:
        """The platform whose webhooks this reads."""
        ...

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime
    ) -> None:
        """Raise VerificationError unless ``body`` is signed by a configured secret.

        ``headers`` keys are lower-case. ``url`` is the public URL the platform called.
        """
        ...

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """The events in a verified body; PayloadError when it cannot be read."""
        ...

    def acknowledge(self, received: int, duplicates: int) -> WebhookReply | None:
        """The answer to a recorded webhook; None: Baton's JSON ``{received, duplicates}``."""
        ...

    def reread(self, ticket_id: str, event_id: str) -> Disposition | None:
        """The ticket's disposition read from the platform, for an event whose body lacked
        what one needs (``WebhookEvent.reread``); called after the ack, outside any store
        transaction. None when the source reads nothing again."""
        ...

    def refusal(self, status: int, reason: str) -> WebhookReply | None:
        """The answer to a webhook the receiver refuses; None: Baton's JSON error answer.

        ``status`` is the receiver's (401: not proven authentic, nothing stored; 400: authentic
        but unreadable, quarantined) and stays the status sent, whatever the reply says: a
        source chooses only the body and media type (a SOAP fault for a SOAP sender).
        ``reason`` is the generic text the receiver logs, never input; a source answering an
        unauthenticated sender should not echo which check failed. Must not raise (if it
        does, the JSON answer goes out).
        """
        ...


class Connector(TicketCreator, ChangeFeed, WebhookSource, Protocol):
    """Everything a platform's connector does: what a plugin's ``make_connector`` returns."""

    def refresh_catalog(self) -> Catalog:
        """Read fields, groups/queues, users/owners (and pipelines) from the live platform."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
