"""The incremental ticket events export (``GET /api/v2/incremental/ticket_events.json``).

Following the Incremental Exports reference ("Incremental Ticket Event Export", time-based):
events of the last minute are left out, a ``start_time`` within it is refused like the ticket
export's, a page holds at most 1,000 events ordered by time, ``end_time`` is the time of the
page's last event and the next page's ``start_time`` (so the events of that second come again),
``end_of_stream`` says the export is caught up. With ``include=comment_events`` each comment is
a child event ``{id, via, via_reference_id, type: "Comment", author_id, body, html_body,
public, attachments, audit_id, created_at, event_type: "Comment"}``; without it only
``comment_present`` and ``comment_public``.

The sandbox's events are its comments' audits (one per comment); the real export also has the
audits that change fields without a comment (UNCONFIRMED details, not needed to heal replies).
"""

from __future__ import annotations

from datetime import timedelta

from baton.sandbox.zendesk.errors import ZendeskError
from baton.sandbox.zendesk.facts import (
    INCREMENTAL_MIN_AGE_SECONDS,
    TOO_RECENT_START_TIME,
    TOO_RECENT_START_TIME_STATUS,
)
from baton.sandbox.zendesk.model import Comment, Json, Ticket, iso
from baton.sandbox.zendesk.state import ZendeskState

_VIA = {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}


def ticket_events_page(
    state: ZendeskState, start_time: int, *, comments: bool, per_page: int
) -> Json:
    """One page (without ``next_page``): ``{ticket_events, end_time, end_of_stream, count}``."""
    with state.lock:
        horizon = state.clock() - timedelta(seconds=INCREMENTAL_MIN_AGE_SECONDS)
        if start_time > horizon.timestamp():
            raise ZendeskError(TOO_RECENT_START_TIME_STATUS, TOO_RECENT_START_TIME)
        eligible = sorted(
            (
                (ticket, comment)
                for ticket in state.tickets.values()
                for comment in ticket.comments
                if start_time <= int(comment.created_at.timestamp())
                and comment.created_at <= horizon
            ),
            key=lambda pair: (pair[1].created_at, pair[1].id),
        )
        page = eligible[:per_page]
        events = [_event(ticket, comment, comments) for ticket, comment in page]
    return {
        "ticket_events": events,
        "end_time": events[-1]["timestamp"] if events else start_time,
        "end_of_stream": len(eligible) <= per_page,
        "count": len(events),
    }


def _event(ticket: Ticket, comment: Comment, sideload: bool) -> Json:
    child: Json = {"id": comment.id, "comment_present": True, "comment_public": comment.public}
    if sideload:
        child = {
            "id": comment.id,
            "via": _VIA,
            "via_reference_id": None,
            "type": "Comment",
            "author_id": comment.author_id,
            "body": comment.body,
            "html_body": comment.html_body,
            "public": comment.public,
            "attachments": [],
            "audit_id": comment.audit_id,
            "created_at": iso(comment.created_at),
            "event_type": "Comment",
        }
    return {
        "id": comment.audit_id,
        "ticket_id": ticket.id,
        "timestamp": int(comment.created_at.timestamp()),
        "created_at": iso(comment.created_at),
        "updater_id": comment.author_id,
        "via": _VIA,
        "event_type": "Audit",
        "child_events": [child],
    }
