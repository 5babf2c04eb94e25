"""``POST /webhooks/{platform}``: verify, record, acknowledge. Nothing else on this path.

The order is the contract (RELIABILITY A1–A8, D1–D2, K1–K3):

1. size: a body over the limit is refused with 413 before any HMAC work (A8);
2. authenticity: the raw bytes exactly as received, lower-case header names and the public
   URL from the settings (never the Host header) go to the source's ``verify_webhook``; any
   failure is 401 and nothing is stored anywhere (A1, A2);
3. reading: a signed body the source cannot read is quarantined and answered 400 — a payload
   error, not an auth failure (A7). So is a body whose events carry text the store cannot hold
   (K5): an event id, or any text of an event's disposition, with a NUL or a lone surrogate
   (see :mod:`core.storable`). Such an event could never be recorded, so a retry would fail
   the same way for as long as the sender kept retrying; it is kept in quarantine (the exact
   bytes, with a reason that names the field and never quotes it) and answered 400, like any
   other signed but unusable payload. 400 rather than 200 because nothing was recorded
   and the sender's delivery log should say so, and because senders do not retry it: Zendesk's
   webhooks reference says it retries "certain HTTP response codes" (UNCONFIRMED here: which
   ones; as far as we know 409, 429/503 with ``Retry-After`` and timeouts, no other 4xx), and
   HubSpot documents that it does not retry 400/401/403/404/405. Should the database refuse a
   value all the same (a ``DataError``, or text the driver cannot encode), the body is
   quarantined and answered 400 too: only an unreachable store is 503;
4. recording: each event goes into the inbox, whose unique ``(platform, event_id)`` decides
   duplicates (D1, D2); then 200 at once. The events of concurrent requests are committed
   together by one writer thread (:mod:`core.inbox_writer`, group commit), and a request is
   answered only after the transaction holding its events has committed (K2); a request's
   events are stored all or none, so a redelivery after a failure has one effect (D5). The
   inbox processor does the rest after the acknowledgement, so no platform API is ever called
   here (K1).

Refusals (401, and the quarantine's 400) are answered with Baton's JSON error unless the
source has its own answer (``WebhookSource.refusal``: a SOAP sender gets a SOAP fault); the
status and what is stored stay the receiver's either way, and the source is handed only the
generic reason the receiver logs, never input.

No header value reaches the store: headers go to the verifier only, and the inbox row holds
the platform (a configured source's name, from the route), the event id and the body bytes.

A store that cannot be reached is 503 with ``Retry-After`` (senders retry 5xx; K2). No
transient failure is answered with a status a sender would not retry, and nothing answers 410
(K3). Whatever arrives, the answer is 200, 400, 401, 404, 413 or 503 — never 500 (A5).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from baton.core.errors import PayloadError, VerificationError
from baton.core.inbox import inbox_body
from baton.core.inbox_writer import InboxWriter
from baton.core.ports import WebhookEvent, WebhookReply, WebhookSource
from baton.core.storable import storable, unstorable_reason
from baton.core.store import Store
from baton.webhooks.auth import (
    UNSTORABLE_ERRORS,
    BadContentLength,
    BodyTooLarge,
    error_response,
    read_body,
    unavailable,
)
from baton.webhooks.observability import Metrics, describe, event

log = logging.getLogger(__name__)

MAX_EVENT_ID_CHARS = 256  # the inbox column's size
_MAX_REASON_CHARS = 200
# Bodies up to this size are verified and read on the event loop (tens of microseconds: less
# than the hop to a worker thread and back); larger ones in the threadpool, so that a big XML
# body never stalls the other requests.
INLINE_BODY_BYTES = 64 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


def checked_events(events: object) -> list[WebhookEvent]:
    """The source's events, or PayloadError when one could not be stored (as an inbox key,
    or, for its disposition, by the processor later)."""
    if not isinstance(events, list):
        raise PayloadError("the source returned no event list")
    for item in events:
        if not isinstance(item, WebhookEvent):
            raise PayloadError("the source returned something that is not a WebhookEvent")
        if not isinstance(item.event_id, str) or not 0 < len(item.event_id) <= MAX_EVENT_ID_CHARS:
            raise PayloadError(f"event id must be 1 to {MAX_EVENT_ID_CHARS} characters")
        problem = unstorable_text(item)
        if problem is not None:
            raise PayloadError(problem)
    return events


def unstorable_text(item: WebhookEvent) -> str | None:
    """Which text of ``item`` the store cannot hold and why, or None (K5). Never quotes it.

    A Disposition repairs its own texts, so only one built around validation
    (``model_construct``) can fail here; the check costs little and keeps the rule whole.
    """
    reason = unstorable_reason(item.event_id)
    if reason is not None:
        return f"event id {reason}"
    if item.disposition is not None:
        for name, value in item.disposition:
            if isinstance(value, str):
                reason = unstorable_reason(value)
                if reason is not None:
                    return f"disposition {name} {reason}"
    return None


class WebhookReceiver:
    """The webhook endpoint for every configured source."""

    def __init__(
        self,
        store: Store,
        sources: Mapping[str, WebhookSource],
        *,
        public_url: Callable[[str], str],
        max_body_bytes: int,
        metrics: Metrics,
        after_write: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] | None = None,
        writer: InboxWriter | None = None,
    ) -> None:
        self.store = store
        self.writer = writer or InboxWriter(store)
        self.sources = dict(sources)
        self.public_url = public_url
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.after_write = after_write
        self.clock = clock or _utcnow

    def router(self) -> APIRouter:
        """The routes, ready for ``app.include_router``: ``/webhooks/{platform}`` and, for
        senders that sign nothing and authenticate by a secret URL, ``/webhooks/{platform}/
        {secret}`` (the source checks the segment; it is never logged)."""
        router = APIRouter(tags=["webhooks"])
        common: dict[str, Any] = {
            "methods": ["POST"],
            "response_model": None,
            "openapi_extra": {
                "requestBody": {
                    "required": True,
                    "description": "The platform's webhook body, exactly as it sent it.",
                    "content": {"application/octet-stream": {"schema": {}}},
                }
            },
            "responses": {
                200: {
                    "description": "Recorded: `{received, duplicates}`, or the platform's "
                    "own acknowledgement (e.g. SOAP)."
                },
                400: {"description": "Authentic but unreadable: kept in quarantine."},
                401: {"description": "Not proven authentic; nothing stored."},
                404: {"description": "No webhook source for this platform."},
                413: {"description": "Body over the size limit; not read."},
                503: {"description": "Store unreachable; nothing acknowledged; retry."},
            },
        }
        router.add_api_route(
            "/webhooks/{platform}", self.receive, summary="Receive a platform's webhook", **common
        )
        router.add_api_route(
            "/webhooks/{platform}/{secret}",
            self.receive_on_secret_path,
            summary="Receive a webhook of a sender that authenticates by a secret URL",
            **common,
        )
        return router

    async def receive(self, platform: str, request: Request) -> Response:
        """Verify, record and acknowledge one webhook request. The URL a signature covers is
        the configured public URL with the query string exactly as sent (HubSpot's v3 signs the
        whole URI); the request's Host header is never used."""
        query = request.scope.get("query_string", b"").decode("latin-1")
        url = self.public_url(platform) + (f"?{query}" if query else "")
        return await self._receive(platform, request, url)

    async def receive_on_secret_path(
        self, platform: str, secret: str, request: Request
    ) -> Response:
        """The same, on a URL ending in a secret segment the source checks."""
        return await self._receive(platform, request, f"{self.public_url(platform)}/{secret}")

    async def _receive(self, platform: str, request: Request, url: str) -> Response:
        source = self.sources.get(platform)
        if source is None:
            return error_response(404, "not_found")
        started = time.perf_counter()
        try:
            try:
                body = await read_body(request, self.max_body_bytes)
            except BodyTooLarge:
                self._count(platform, "too_large")
                event(log, logging.WARNING, "webhook.too_large", platform=platform)
                return error_response(413, "too_large", limit=self.max_body_bytes)
            except BadContentLength:
                self._count(platform, "bad_request")
                return error_response(400, "bad_request")
            headers = {name.lower(): value for name, value in request.headers.items()}
            if len(body) <= INLINE_BODY_BYTES:
                read = self._read(platform, source, headers, body, url)
            else:
                read = await run_in_threadpool(self._read, platform, source, headers, body, url)
            if isinstance(read, Response):
                return read
            if isinstance(read, str):
                return await run_in_threadpool(self._quarantine, platform, read, body, source)
            return await self._record(platform, source, read, body)
        finally:
            self.metrics.webhook_seconds.labels(platform=platform).observe(
                time.perf_counter() - started
            )

    def _read(
        self,
        platform: str,
        source: WebhookSource,
        headers: dict[str, str],
        body: bytes,
        url: str,
    ) -> Response | str | list[tuple[str, bytes]]:
        """Verify and read the body, once: the refusal to send (401), the reason to quarantine
        it, or each event's id and the slice the inbox keeps of it (the body is never parsed
        again, :func:`core.inbox.inbox_body`)."""
        rejected = self._verify(platform, source, headers, body, url)
        if rejected is not None:
            return rejected
        try:
            events = checked_events(source.parse_webhook(body))
        except PayloadError as exc:
            return f"PayloadError: {exc}"
        except Exception as exc:  # a source bug is still a payload problem, never a 500
            return f"unreadable ({type(exc).__name__})"
        try:
            return [(item.event_id, inbox_body(item)) for item in events]
        except UNSTORABLE_ERRORS as exc:
            # checked_events should make this unreachable: text that cannot be encoded (K5).
            return f"the store refused an event ({type(exc).__name__})"
        except Exception as exc:  # an event that cannot be sliced cannot be stored either
            return f"unreadable ({type(exc).__name__})"

    def _verify(
        self,
        platform: str,
        source: WebhookSource,
        headers: dict[str, str],
        body: bytes,
        url: str,
    ) -> Response | None:
        try:
            source.verify_webhook(headers, body, url=url, now=self.clock())
        except VerificationError as exc:
            reason = str(exc)[:_MAX_REASON_CHARS]
            return self._unauthorized(platform, source, reason)
        except Exception as exc:  # fail closed: only a clean return proves authenticity
            return self._unauthorized(platform, source, f"verifier failed ({type(exc).__name__})")
        return None

    def _unauthorized(self, platform: str, source: WebhookSource, reason: str) -> Response:
        self._count(platform, "unauthorized")
        event(log, logging.WARNING, "webhook.unauthorized", platform=platform, reason=reason)
        return self._refusal(platform, source, 401, reason) or error_response(401, "unauthorized")

    def _refusal(
        self, platform: str, source: WebhookSource, status: int, reason: str
    ) -> Response | None:
        """The source's own answer to a refusal (e.g. a SOAP fault), with the receiver's
        status whatever the reply says; None (Baton's JSON) when it has none or fails."""
        # Sources written before this seam may lack the method: they keep the JSON answer.
        refusal = getattr(source, "refusal", None)
        if refusal is None:
            return None
        try:
            reply = refusal(status, reason)
        except Exception as exc:
            event(
                log, logging.ERROR, "webhook.refusal_failed", platform=platform, error=describe(exc)
            )
            return None
        if not isinstance(reply, WebhookReply):
            return None
        return Response(reply.body, status_code=status, media_type=reply.media_type)

    def _quarantine(
        self, platform: str, reason: str, body: bytes, source: WebhookSource | None = None
    ) -> Response:
        # A source's error text is written without payload text, but may still not be
        # storable; the reason must never be why a quarantine fails.
        reason = storable(reason)
        try:
            self.store.quarantine(platform, reason, body)
        except Exception as exc:
            return self._unavailable(platform, exc)
        self._count(platform, "payload_error")
        event(
            log,
            logging.WARNING,
            "webhook.payload_error",
            platform=platform,
            reason=reason[:_MAX_REASON_CHARS],
            bytes=len(body),
        )
        refused = None
        if source is not None:
            refused = self._refusal(platform, source, 400, reason[:_MAX_REASON_CHARS])
        return refused or error_response(400, "payload_error")

    async def _record(
        self, platform: str, source: WebhookSource, events: list[tuple[str, bytes]], body: bytes
    ) -> Response:
        try:
            flags = await asyncio.wrap_future(self.writer.record(platform, events))
        except UNSTORABLE_ERRORS as exc:
            # The check in checked_events should make this unreachable; if the database still
            # refuses the input, a retry cannot succeed, so it is a payload error (K5).
            reason = f"the store refused an event ({type(exc).__name__})"
            return await run_in_threadpool(self._quarantine, platform, reason, body, source)
        except Exception as exc:
            return self._unavailable(platform, exc)
        new = sum(flags)
        duplicates = len(events) - new
        if new:
            self.after_write()
        self._count(platform, "duplicate" if events and not new else "verified")
        event(
            log,
            logging.INFO,
            "webhook.received",
            platform=platform,
            events=len(events),
            duplicates=duplicates,
        )
        return self._acknowledgement(platform, source, len(events), duplicates)

    def _acknowledgement(
        self, platform: str, source: WebhookSource, received: int, duplicates: int
    ) -> Response:
        """The source's own answer (e.g. a SOAP ack), else Baton's JSON; never a 500."""
        try:
            reply = source.acknowledge(received, duplicates)
        except Exception as exc:
            event(log, logging.ERROR, "webhook.ack_failed", platform=platform, error=describe(exc))
            reply = None
        if reply is None:
            return JSONResponse({"received": received, "duplicates": duplicates})
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type)

    def _unavailable(self, platform: str, exc: Exception) -> Response:
        self._count(platform, "unavailable")
        event(log, logging.ERROR, "webhook.unavailable", platform=platform, error=describe(exc))
        return unavailable()

    def _count(self, platform: str, result: str) -> None:
        self.metrics.webhooks.labels(platform=platform, result=result).inc()
