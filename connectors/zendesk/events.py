"""Zendesk webhooks: signature verification and the two body styles Baton reads.

Verification (Zendesk's "Verifying webhook authenticity" page): ``X-Zendesk-Webhook-Signature`` is
base64(HMAC-SHA256(signing secret, ``X-Zendesk-Webhook-Signature-Timestamp`` + raw body)). Any
configured secret may match (rotation); the timestamp must be within ±300 s of now.

**Event webhooks** (a webhook subscribed to ticket events) send::

    {"type": "zen:event-type:ticket.status_changed", "id": "<event id>", "time": "...Z",
     "subject": "zen:ticket:123",
     "detail": {"id": "123", "status": "SOLVED", "external_id": "<handoff id>",
                "assignee_id": "501", "group_id": "100", "updated_at": "...Z", ...},
     "event": {"current": "SOLVED", "previous": "OPEN"}}

**Trigger webhooks**: ops create a trigger ("Ticket is updated", optionally "Tags contains
baton") whose action notifies the webhook with this JSON body::

    {
      "ticket_id": "{{ticket.id}}",
      "status": "{{ticket.status}}",
      "external_id": "{{ticket.external_id}}",
      "updated_at": "{{ticket.updated_at_with_timestamp}}",
      "update_stamp": "{{ticket.id}}-{{ticket.updated_at_with_timestamp}}-{{ticket.status}}"
    }

**Comment events** (``zen:event-type:ticket.comment_added``, the webhook subscribed to it) carry
the comment in ``event.comment``: ``{"id", "body", "is_public", "author": {"id", "is_staff",
"name"}}``. A public comment whose author is staff and not the ticket's requester becomes a
:class:`~baton.core.replies.PublicReply` (its id is the comment's); private notes, and the
customer's own comments, do not.

``update_stamp`` is the event id Baton deduplicates on (a redelivery repeats it). The timestamp
placeholder has minute precision, hence the status in the stamp: two updates in the same minute
that change the status stay two events.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, StringConstraints

from baton.connectors.zendesk import facts
from baton.connectors.zendesk.values import Names, is_merged
from baton.core.disposition import Disposition, Outcome
from baton.core.errors import PayloadError, VerificationError
from baton.core.handoff import is_handoff_id
from baton.core.ports import WebhookEvent
from baton.core.replies import PublicReply
from baton.core.signatures import check_timestamp, hmac_sha256_base64, signature_matches

log = logging.getLogger(__name__)
_BASE64_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=$")


# ------------------------------------------------------------------------------ verification


def verify_signature(
    headers: Mapping[str, str], body: bytes, *, secrets: tuple[SecretStr, ...], now: datetime
) -> None:
    """Raise VerificationError unless a configured secret signed ``body`` recently (A1-A6).

    Whatever the input, nothing but VerificationError leaves this function.
    """
    try:
        _verify(headers, body, secrets, now)
    except VerificationError:
        raise
    except Exception:  # A5: odd input must read as "not verified", never as a crash
        raise VerificationError("webhook could not be verified") from None


def _verify(
    headers: Mapping[str, str], body: bytes, secrets: tuple[SecretStr, ...], now: datetime
) -> None:
    if not secrets:
        raise VerificationError("no Zendesk webhook signing secret is configured")
    signature = _header(headers, facts.SIGNATURE_HEADER)
    timestamp = _header(headers, facts.TIMESTAMP_HEADER)
    if not _BASE64_SHA256.match(signature):
        raise VerificationError(f"malformed {facts.SIGNATURE_HEADER} header")
    signed_at = _parse_timestamp(timestamp)
    message = timestamp.encode("utf-8") + bytes(body)
    expected = [hmac_sha256_base64(s.get_secret_value().encode("utf-8"), message) for s in secrets]
    if not signature_matches(expected, signature):
        raise VerificationError("signature does not match")
    check_timestamp(signed_at, now)


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not isinstance(value, str) or not value.strip():
        raise VerificationError(f"missing {name} header")
    if len(value) > facts.MAX_HEADER_CHARS:
        raise VerificationError(f"malformed {name} header")
    return value.strip()


def _parse_timestamp(raw: str) -> datetime:
    try:
        signed_at = datetime.fromisoformat(raw)
    except ValueError:
        raise VerificationError(f"malformed {facts.TIMESTAMP_HEADER} header") from None
    if signed_at.utcoffset() is None:
        raise VerificationError(f"malformed {facts.TIMESTAMP_HEADER} header")
    return signed_at


# ------------------------------------------------------------------------------ body models


def _id_text(value: Any) -> Any:
    """Zendesk sends ids as numbers in some places and strings in others."""
    return str(value) if type(value) is int else value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


IdText = Annotated[
    str, BeforeValidator(_id_text), StringConstraints(pattern=r"^[0-9]{1,20}$", strict=True)
]
OptionalId = Annotated[IdText | None, BeforeValidator(_blank_to_none)]
OptionalText = Annotated[
    Annotated[str, StringConstraints(max_length=256)] | None, BeforeValidator(_blank_to_none)
]
Timestamp = Annotated[datetime, Field(strict=False)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Detail(_Body):
    id: IdText
    requester_id: OptionalId = None
    status: OptionalText = None
    external_id: OptionalText = None
    assignee_id: OptionalId = None
    group_id: OptionalId = None
    tags: list[Any] = Field(default_factory=list)
    updated_at: Timestamp | None = None


class _Author(_Body):
    id: OptionalId = None
    is_staff: bool = False
    name: OptionalText = None


class _Comment(_Body):
    id: IdText
    body: str = ""
    is_public: bool = False
    author: _Author = Field(default_factory=_Author)


class _CommentEvent(_Body):
    comment: _Comment


class _EventBody(_Body):
    type: Annotated[str, StringConstraints(max_length=128)]
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    time: Timestamp
    detail: _Detail | None = None
    event: dict[str, Any] = Field(default_factory=dict)


class _TriggerBody(_Body):
    ticket_id: IdText
    status: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    external_id: OptionalText = None
    updated_at: Timestamp
    update_stamp: OptionalText = None


# ------------------------------------------------------------------------------ parsing


class EventReader:
    """Turns verified webhook bodies into WebhookEvents with their dispositions.

    Group and assignee come out as names from ``names`` (the mapping's catalog); an id the
    catalog does not know stays as its id text, never lost.
    """

    def __init__(
        self,
        statuses: Mapping[str, Outcome],
        ticket_url: Callable[[str], str | None],
        names: Names | None = None,
    ) -> None:
        self.statuses = {**facts.DEFAULT_STATUSES, **statuses}
        self.ticket_url = ticket_url
        self.names = names or Names()

    def parse(self, body: bytes) -> list[WebhookEvent]:
        """The events in ``body``; PayloadError (without any body text) when unreadable."""
        data = _load_json(body)
        try:
            if "type" in data and "id" in data:
                return [self._event(_EventBody.model_validate(data))]
            if "ticket_id" in data:
                return [self._trigger(_TriggerBody.model_validate(data))]
        except pydantic.ValidationError as exc:
            raise PayloadError(_problems(exc)) from None
        raise PayloadError("Zendesk webhook body of an unknown shape")

    def _event(self, body: _EventBody) -> WebhookEvent:
        detail = body.detail
        occurred_at = _aware(detail.updated_at if detail and detail.updated_at else body.time)
        if detail is None or not body.type.startswith(facts.TICKET_EVENT_PREFIX):
            return WebhookEvent(event_id=body.id, occurred_at=occurred_at)
        kind = body.type.removeprefix(facts.TICKET_EVENT_PREFIX)
        replies: tuple[PublicReply, ...] = ()
        if kind == facts.COMMENT_ADDED:
            reply = _public_reply(detail, body.event, _aware(body.time))
            replies = () if reply is None else (reply,)
        status = (detail.status or "").casefold()
        outcome = self._event_outcome(kind, status, body.event, detail.tags)
        if outcome is None:
            return WebhookEvent(event_id=body.id, occurred_at=occurred_at, replies=replies)
        disposition = self._disposition(
            ticket_id=detail.id,
            external_id=detail.external_id,
            outcome=outcome,
            raw_status=status or None,
            assignee=self.names.user(detail.assignee_id),
            group=self.names.group(detail.group_id),
            occurred_at=occurred_at,
            event_id=body.id,
        )
        return WebhookEvent(
            event_id=body.id, occurred_at=occurred_at, disposition=disposition, replies=replies
        )

    def _event_outcome(
        self, kind: str, status: str, event: dict[str, Any], tags: list[Any]
    ) -> Outcome | None:
        if kind in facts.DELETED_EVENTS:
            return "deleted"
        if is_merged(status, tags):
            return "merged"
        if kind == facts.STATUS_CHANGED and _is_reopen(event):
            return "reopened"
        if kind == facts.GROUP_CHANGED and _is_transfer(event):
            return "transferred"
        return self.statuses.get(status)

    def _trigger(self, body: _TriggerBody) -> WebhookEvent:
        status = body.status.strip().casefold()
        occurred_at = _aware(body.updated_at)
        stamp = body.update_stamp or f"{body.ticket_id}:{occurred_at.isoformat()}:{status}"
        outcome = self.statuses.get(status)
        if outcome is None:
            return WebhookEvent(event_id=stamp, occurred_at=occurred_at)
        disposition = self._disposition(
            ticket_id=body.ticket_id,
            external_id=body.external_id,
            outcome=outcome,
            raw_status=status,
            occurred_at=occurred_at,
            event_id=stamp,
        )
        return WebhookEvent(event_id=stamp, occurred_at=occurred_at, disposition=disposition)

    def _disposition(
        self, *, ticket_id: str, external_id: str | None, **fields: Any
    ) -> Disposition:
        try:
            return Disposition(
                handoff_id=handoff_id_or_none(external_id),
                platform=facts.PLATFORM,
                ticket_id=ticket_id,
                ticket_url=self.ticket_url(ticket_id),
                source="webhook",
                **fields,
            )
        except pydantic.ValidationError as exc:
            raise PayloadError(_problems(exc)) from None


def _public_reply(
    detail: _Detail, event: dict[str, Any], occurred_at: datetime
) -> PublicReply | None:
    """The comment of a ``comment_added`` event as a reply, when a person working the ticket
    wrote it publicly (staff, and not the requester); None otherwise (and when the comment
    cannot be read)."""
    try:
        comment = _CommentEvent.model_validate(event).comment
    except pydantic.ValidationError as exc:
        # The comment's shape is UNCONFIRMED (facts): tell no reply, keep the event's
        # disposition; the ticket events export brings the reply on the next sync run.
        log.warning("zendesk comment event unreadable: %s", _problems(exc))
        return None
    author = comment.author
    if not comment.is_public or not author.is_staff or not comment.body.strip():
        return None
    if author.id is not None and author.id == detail.requester_id:
        return None
    return PublicReply(
        platform=facts.PLATFORM,
        ticket_id=detail.id,
        reply_id=comment.id,
        author=author.name,
        body=comment.body,
        created_at=occurred_at,
    )


def handoff_id_or_none(external_id: str | None) -> str | None:
    """The external id when it is a valid handoff id (Baton's ticket), else None."""
    return external_id if external_id and is_handoff_id(external_id) else None


def _is_reopen(event: dict[str, Any]) -> bool:
    previous = str(event.get("previous") or "").casefold()
    current = str(event.get("current") or "").casefold()
    return previous in facts.SOLVED_STATUSES and current in facts.UNSOLVED_STATUSES


def _is_transfer(event: dict[str, Any]) -> bool:
    previous, current = _ref_id(event.get("previous")), _ref_id(event.get("current"))
    return previous is not None and previous != current


def _ref_id(value: Any) -> str | None:
    """``{"id": "100"}`` (or a bare id) → ``"100"``."""
    if isinstance(value, dict):
        value = value.get("id")
    return None if value is None or value == "" else str(value)


def _aware(when: datetime) -> datetime:
    if when.utcoffset() is None:
        raise PayloadError("Zendesk webhook timestamp without a time zone")
    return when


def _load_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PayloadError("Zendesk webhook body is not valid UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise PayloadError("Zendesk webhook body is not a JSON object")
    return data


def _problems(exc: pydantic.ValidationError) -> str:
    paths = sorted(
        {".".join(map(str, e["loc"])) or "<root>" for e in exc.errors(include_input=False)}
    )
    return "Zendesk webhook body: missing or invalid " + ", ".join(paths)
