"""The callback to the agent platform: which changes of a handoff's state it tells, and how.

When ``BATON_CALLBACK_URL`` is set, every change of a handoff's state becomes one event in the
callback outbox, written in the transaction that made the change (so none is lost and none is
told twice by Baton's own doing):

================================  ==========================================================
``ticket.created``                the ticket exists: its link and a reference to tell the
                                  customer
``ticket.assigned``               a person now owns it (the assignee changed)
``ticket.transferred``            it moved to another group, queue or pipeline
``ticket.replied``                a person's PUBLIC reply (redacted, at most 4,000
                                  characters), for the agent to relay to the customer; once
                                  per reply, whether a webhook or a sync run saw it first
``ticket.resolved``               it was resolved (with CSAT when the platform gave one)
``ticket.reopened``               the customer came back after it was resolved
``conversation.returned``         the human stretch is over (resolved, deleted or merged):
                                  the agent may speak again
================================  ==========================================================

``ticket.replied`` needs a platform's comment events: Zendesk's ``ticket.comment_added``
webhook events, healed from the incremental ticket events export; Salesforce and HubSpot
replies are not read yet.

Each event is an object ``{type, timestamp, data}`` POSTed with the Standard Webhooks headers
(``webhook-id`` stable across attempts, ``webhook-timestamp``, ``webhook-signature``), signed
by the ``standardwebhooks`` package with every configured ``whsec_…`` secret (rotation).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from baton.core.disposition import Disposition
from baton.core.errors import ConfigError
from baton.core.replies import PublicReply

TICKET_CREATED = "ticket.created"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_TRANSFERRED = "ticket.transferred"
TICKET_REPLIED = "ticket.replied"
TICKET_RESOLVED = "ticket.resolved"
TICKET_REOPENED = "ticket.reopened"
CONVERSATION_RETURNED = "conversation.returned"
EVENT_TYPES = (
    TICKET_CREATED,
    TICKET_ASSIGNED,
    TICKET_TRANSFERRED,
    TICKET_REPLIED,
    TICKET_RESOLVED,
    TICKET_REOPENED,
    CONVERSATION_RETURNED,
)
HUMAN_DONE = ("resolved", "deleted", "merged")  # outcomes after which the agent may speak


@dataclass(frozen=True)
class CallbackEvent:
    """One event to tell the agent platform about a handoff."""

    type: str
    handoff_id: str
    at: datetime
    data: dict[str, Any]

    def payload(self) -> str:
        """The JSON body: ``{type, timestamp, data}`` (``data`` names the handoff)."""
        document = {
            "type": self.type,
            "timestamp": utc_iso(self.at),
            "data": {"handoff_id": self.handoff_id, **self.data},
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def ticket_created(
    handoff_id: str, platform: str, ticket_id: str, ticket_url: str | None, at: datetime
) -> CallbackEvent:
    """The ticket exists; ``reference`` is what the agent can tell the customer."""
    data = {
        "platform": platform,
        "ticket_id": ticket_id,
        "ticket_url": ticket_url,
        "reference": f"#{ticket_id}",
    }
    return CallbackEvent(TICKET_CREATED, handoff_id, at, data)


def ticket_replied(reply: PublicReply) -> CallbackEvent:
    """A person's public reply (already redacted and fitted: :func:`core.replies.told`)."""
    if reply.handoff_id is None:
        raise ValueError("a reply is told only once it is linked to its handoff")
    data = {
        "platform": reply.platform,
        "ticket_id": reply.ticket_id,
        "reply_id": reply.reply_id,
        "author": reply.author,
        "body": reply.body,
        "at": utc_iso(reply.created_at),
    }
    return CallbackEvent(TICKET_REPLIED, reply.handoff_id, reply.created_at, data)


def utc_iso(at: datetime) -> str:
    """``at`` in UTC, ISO 8601 with a ``Z``."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def changes(before: Disposition | None, after: Disposition) -> list[CallbackEvent]:
    """The events the newest observation ``after`` makes of the one before it (None: the
    first one); nothing for an observation that changes nothing the agent hears about."""
    handoff_id = after.handoff_id
    if handoff_id is None:
        return []
    at = after.occurred_at
    ticket: dict[str, Any] = {"platform": after.platform, "ticket_id": after.ticket_id}
    found: list[CallbackEvent] = []
    previous_outcome = before.outcome if before is not None else "open"
    if after.assignee and after.assignee != (before.assignee if before else None):
        found.append(
            CallbackEvent(TICKET_ASSIGNED, handoff_id, at, {**ticket, "assignee": after.assignee})
        )
    moved = after.transfer_count > (before.transfer_count if before else 0)
    if moved or (after.outcome == "transferred" and previous_outcome != "transferred"):
        data = {**ticket, "group": after.group, "assignee": after.assignee}
        found.append(CallbackEvent(TICKET_TRANSFERRED, handoff_id, at, data))
    reopened = after.reopen_count > (before.reopen_count if before else 0)
    if reopened or (after.outcome == "reopened" and previous_outcome != "reopened"):
        found.append(CallbackEvent(TICKET_REOPENED, handoff_id, at, ticket))
    if after.outcome == "resolved" and previous_outcome != "resolved":
        data = {
            **ticket,
            "csat": after.csat,
            "resolution_seconds": after.resolution_seconds,
        }
        found.append(CallbackEvent(TICKET_RESOLVED, handoff_id, at, data))
    if after.outcome in HUMAN_DONE and previous_outcome not in HUMAN_DONE:
        data = {**ticket, "reason": after.outcome}
        found.append(CallbackEvent(CONVERSATION_RETURNED, handoff_id, at, data))
    return found


def human_holds_conversation(delivered: bool, current: Disposition | None) -> bool:
    """Whether a person holds the conversation now: the ticket exists and is not over."""
    return delivered and (current is None or current.outcome not in HUMAN_DONE)


class CallbackSigner:
    """Standard Webhooks signatures with every configured secret (the newest first)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ConfigError("BATON_CALLBACK_SECRETS is required with BATON_CALLBACK_URL")
        try:
            self._webhooks = [Webhook(secret) for secret in secrets]
        except Exception:
            raise ConfigError(
                "BATON_CALLBACK_SECRETS must be Standard Webhooks secrets (whsec_ + base64)"
            ) from None

    def headers(self, webhook_id: str, payload: str, at: datetime) -> dict[str, str]:
        """The ``webhook-*`` headers for ``payload`` sent at ``at`` (one signature per
        secret, space-separated, as the standard allows for rotation)."""
        at = at.astimezone(UTC).replace(microsecond=0)
        signatures = " ".join(w.sign(webhook_id, at, payload) for w in self._webhooks)
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures,
            "content-type": "application/json",
        }
