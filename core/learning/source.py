"""Escalations out of the store: handoffs with their ticket links and disposition histories,
read a chunk at a time so that memory stays flat however many there are."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select

from baton.core.disposition import Disposition
from baton.core.handoff import load_stored_handoff
from baton.core.learning.history import Escalation, in_platform_order
from baton.core.learning.stakes import Stakes, stake_of
from baton.core.store import Store
from baton.core.tables import DispositionRow, HandoffRow, TicketLinkRow

CHUNK = 500


def escalations(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    platform: str | None = None,
    chunk: int = CHUNK,
    stakes: Stakes | None = None,
) -> Iterator[Escalation]:
    """Every handoff created in ``[since, until)`` (by the handoff's own ``created_at``), on
    ``platform`` when given, with its link and its history in the platform's order, and its
    value at stake when ``stakes`` names the fact for its platform."""
    stakes = stakes or {}
    after = ""
    while True:
        with store.reading() as session:
            stmt = select(HandoffRow.id, HandoffRow.platform, HandoffRow.body).where(
                HandoffRow.id > after
            )
            if platform is not None:
                stmt = stmt.where(HandoffRow.platform == platform)
            rows = session.execute(stmt.order_by(HandoffRow.id).limit(chunk)).all()
            if not rows:
                return
            ids = [row.id for row in rows]
            links = {
                link.handoff_id: link
                for link in session.scalars(
                    select(TicketLinkRow).where(TicketLinkRow.handoff_id.in_(ids))
                )
            }
            histories: defaultdict[str, list[Disposition]] = defaultdict(list)
            recorded = (
                select(DispositionRow.handoff_id, DispositionRow.data)
                .where(DispositionRow.handoff_id.in_(ids))
                .order_by(DispositionRow.id)
            )
            for handoff_id, data in session.execute(recorded):
                if handoff_id is not None:
                    histories[handoff_id].append(Disposition.model_validate_json(data))
        for row in rows:
            handoff = load_stored_handoff(row.body)
            if (since is not None and handoff.created_at < since) or (
                until is not None and handoff.created_at >= until
            ):
                continue
            link = links.get(row.id)
            platform_now = link.platform if link is not None else row.platform
            stake = stakes.get(platform_now)
            yield Escalation(
                handoff_id=row.id,
                created_at=handoff.created_at,
                platform=platform_now,
                intent=handoff.intent,
                trigger_kinds=tuple(handoff.trigger_kinds),
                channel=handoff.channel,
                language=handoff.language or handoff.routing.language,
                tier=handoff.customer.tier,
                priority=handoff.priority,
                route=link.route if link is not None else None,
                target=link.target if link is not None else None,
                history=in_platform_order(histories[row.id]),
                trigger_scores=tuple((t.kind, t.score) for t in handoff.triggers),
                sentiment=handoff.sentiment.score if handoff.sentiment is not None else None,
                authenticated=handoff.customer.authenticated,
                value=stake_of(handoff.facts, stake) if stake is not None else None,
            )
        after = ids[-1]
