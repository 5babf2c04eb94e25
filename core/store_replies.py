"""Public replies in the store; :class:`~baton.core.store.Store` provides the sessions.

A reply is recorded only on a ticket linked to a handoff (one Baton made), redacted and fitted
first (:func:`core.replies.told`). The unique ``(platform, ticket_id, reply_id)`` decides
duplicates in a savepoint, as for dispositions, so a reply seen by a webhook and again by a
sync run — or by two writers at once — is stored once, and its ``ticket.replied`` callback is
written in the same transaction, once. A reply whose ticket link is not committed yet is not
recorded: the next sync run (whose export carries it again) records it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baton.core.callbacks import ticket_replied, utc_iso
from baton.core.privacy import TextRedactor
from baton.core.redact import default_redactor
from baton.core.replies import PublicReply, told
from baton.core.store_callbacks import CallbackTables
from baton.core.tables import ReplyRow
from baton.core.times import utcnow


class ReplyTables(CallbackTables):
    """Public reply operations. ``reply_redactor`` masks reply text (default: the built-in
    rules; the service and ``baton sync`` set the mapping folder's)."""

    reply_redactor: TextRedactor | None = None

    def _writing(self, session: Session | None) -> AbstractContextManager[Session]:
        """The caller's session, or a write transaction of its own (provided by Store)."""
        raise NotImplementedError  # pragma: no cover

    def handoff_for_ticket(
        self, platform: str, ticket_id: str, *, session: Session | None = None
    ) -> str | None:
        """The handoff a platform's ticket was made for (provided by Store)."""
        raise NotImplementedError  # pragma: no cover

    def add_reply(self, reply: PublicReply, *, session: Session | None = None) -> bool:
        """Record a public reply and write its ``ticket.replied`` callback, once.

        True when recorded now; False when it already was, or when its ticket is not linked
        to a handoff (a ticket Baton did not make, or whose link is not committed yet). Pass
        ``session`` to commit it with other work (a sync page and its cursor).
        """
        with self._writing(session) as s:
            handoff_id = self.handoff_for_ticket(reply.platform, reply.ticket_id, session=s)
            if handoff_id is None:
                return False
            redactor = self.reply_redactor or default_redactor()
            safe = told(reply, redactor).model_copy(update={"handoff_id": handoff_id})
            try:
                with s.begin_nested():
                    s.add(
                        ReplyRow(
                            handoff_id=handoff_id,
                            platform=safe.platform,
                            ticket_id=safe.ticket_id,
                            reply_id=safe.reply_id,
                            author=safe.author,
                            body=safe.body,
                            created_at=safe.created_at,
                            recorded_at=utcnow(),
                        )
                    )
            except IntegrityError:
                return False
            self.enqueue_callbacks(s, [ticket_replied(safe)])
        return True

    def replies_of(self, handoff_id: str) -> list[PublicReply]:
        """A handoff's recorded replies (redacted), oldest first by the platform's time."""
        stmt = (
            select(ReplyRow)
            .where(ReplyRow.handoff_id == handoff_id)
            .order_by(ReplyRow.created_at, ReplyRow.id)
        )
        with self.reading() as session:
            return [_reply(row) for row in session.scalars(stmt)]

    def latest_reply(self, handoff_id: str) -> PublicReply | None:
        """The newest recorded reply by the platform's time, if any."""
        stmt = (
            select(ReplyRow)
            .where(ReplyRow.handoff_id == handoff_id)
            .order_by(ReplyRow.created_at.desc(), ReplyRow.id.desc())
            .limit(1)
        )
        with self.reading() as session:
            row = session.scalars(stmt).one_or_none()
            return None if row is None else _reply(row)


def reply_document(reply: PublicReply | None) -> dict[str, str | None] | None:
    """The status document's ``latest_reply``: ``{reply_id, author, body, at}`` or None."""
    if reply is None:
        return None
    return {
        "reply_id": reply.reply_id,
        "author": reply.author,
        "body": reply.body,
        "at": utc_iso(reply.created_at),
    }


def _reply(row: ReplyRow) -> PublicReply:
    return PublicReply(
        platform=row.platform,
        ticket_id=row.ticket_id,
        reply_id=row.reply_id,
        handoff_id=row.handoff_id,
        author=row.author,
        body=row.body,
        created_at=row.created_at,
    )
