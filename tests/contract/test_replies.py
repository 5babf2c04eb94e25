"""B1 ``ticket.replied`` against every platform's sandbox: a person's public reply on a Baton
ticket is told once, a private note or the customer's own message never.

``B1-reply`` proves it on the platform's healing path (Zendesk's ticket events export through
``sync_replies``; Salesforce's and HubSpot's sync pages, which carry the published CaseComments
and the reps' e-mails), run twice over the same reply; ``B1-reply-webhook`` on the webhook
path where the platform's webhooks carry replies (Zendesk's ``comment_added``), then healed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from baton.core.store import Store
from tests.contract.harness import Harness
from tests.contract.helpers import delivered, service

REPLY = "Your refund went out today."
NOTE = "Internal: refund approved by billing."
CUSTOMER = "Any news about my refund?"


def _told(store: Store, handoff_id: str) -> int:
    """How many ``ticket.replied`` callbacks the handoff has."""
    return [row.event_type for row in store.callbacks_of(handoff_id)].count("ticket.replied")


def _write_all_three(harness: Harness, ticket_id: str) -> None:
    harness.private_note(ticket_id, NOTE)
    harness.customer_message(ticket_id, CUSTOMER)
    harness.public_reply(ticket_id, REPLY)


@pytest.mark.property("B1-reply")
def test_b1_a_public_reply_is_healed_once_and_a_note_or_customer_message_never(
    harness: Harness, store: Store
) -> None:
    """No webhook reaches Baton: the healing sync records the public reply as one PublicReply
    with one ``ticket.replied``; a second run from its cursor and a fresh run re-reading the
    reply tell it no second time; the note and the customer's message are never told."""
    store.callbacks_enabled = True
    since = harness.now() - timedelta(hours=1)
    [(handoff, ticket_id)] = delivered(harness, store)
    harness.advance(60)
    _write_all_three(harness, ticket_id)

    first = harness.heal_replies(store, since=since, job=harness.platform)
    again = harness.heal_replies(store, since=since, job=harness.platform)
    reread = harness.heal_replies(store, since=since, job=f"{harness.platform}-reread")

    [reply] = store.replies_of(handoff.id)
    assert (reply.platform, reply.ticket_id, reply.body) == (harness.platform, ticket_id, REPLY)
    assert reply.author, "a reply names the person who wrote it"
    assert first.applied >= 1
    assert again.applied == 0
    assert reread.applied == 0
    assert reread.duplicates >= 1  # seen again, not told again
    assert _told(store, handoff.id) == 1


@pytest.mark.property("B1-reply-webhook")
def test_b1_a_public_replys_webhook_tells_it_and_the_heal_does_not_again(
    harness: Harness, store: Store
) -> None:
    """The sandbox's own signed webhooks for the note, the customer's message and the reply,
    posted to Baton's service: the reply is told at once, the others never; the healing sync
    then re-reads it and tells it no second time."""
    store.callbacks_enabled = True
    since = harness.now() - timedelta(hours=1)
    [(handoff, ticket_id)] = delivered(harness, store)
    received = harness.signed_webhook_from_sandbox(lambda: _write_all_three(harness, ticket_id))
    assert received, "the sandbox sent no webhook"
    with service(harness, store) as baton:
        for webhook in received:
            assert baton.post(webhook.headers, webhook.body).status_code == 200
        baton.inbox.drain()

    [reply] = store.replies_of(handoff.id)
    assert (reply.ticket_id, reply.body) == (ticket_id, REPLY)
    healed = harness.heal_replies(store, since=since, job=harness.platform)
    assert healed.duplicates >= 1
    assert healed.applied == 0
    assert [r.reply_id for r in store.replies_of(handoff.id)] == [reply.reply_id]
    assert _told(store, handoff.id) == 1
