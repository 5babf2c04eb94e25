"""A human's public reply on a ticket: what a connector observes and what Baton tells.

A connector turns a platform's comment into a :class:`PublicReply` only when it is public and
written by a person working the ticket (not the customer, not an automation, not Baton's own
note); private notes never become one. Webhooks and sync runs may both see the same reply:
the store keeps one row per ``(platform, ticket_id, reply_id)`` and tells each new one once
(``ticket.replied``).

Before a reply is stored or sent, :func:`told` masks its text with the deployment's redaction
rules (the mapping folder's ``redaction.yaml`` plus the built-in ones) and then fits it to
:data:`MAX_BODY_CHARS` — masking first, so a cut can never leave half of an e-mail address
unmasked.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from baton.core.disposition import Repaired
from baton.core.handoff import AwareDatetime, HandoffId, Platform
from baton.core.privacy import TextRedactor

MAX_BODY_CHARS = 4_000  # what an agent platform relays to a chat customer; the rest is cut
MAX_AUTHOR_CHARS = 256
CUT_MARK = " […]"

_Id = Annotated[str, StringConstraints(min_length=1, max_length=64), Repaired]


class PublicReply(BaseModel):
    """One public reply by a person on a platform's ticket (``reply_id``: the platform's
    comment id). ``handoff_id`` is None until the store links the ticket to its handoff."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    platform: Platform
    ticket_id: _Id
    reply_id: _Id
    handoff_id: HandoffId | None = None
    author: Annotated[str, Repaired] | None = None
    body: Annotated[str, Repaired]
    created_at: AwareDatetime


def told(reply: PublicReply, redactor: TextRedactor) -> PublicReply:
    """``reply`` as Baton may store and send it: body and author masked by ``redactor``, then
    cut to :data:`MAX_BODY_CHARS` / :data:`MAX_AUTHOR_CHARS`."""
    author = None if reply.author is None else _fit(redactor.redact(reply.author), MAX_AUTHOR_CHARS)
    body = _fit(redactor.redact(reply.body), MAX_BODY_CHARS)
    return reply.model_copy(update={"author": author or None, "body": body})


def _fit(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - len(CUT_MARK)].rstrip() + CUT_MARK
