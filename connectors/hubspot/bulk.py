"""Many tickets in few calls, for ``baton backfill``: HubSpot's batch endpoints.

Per batch of up to 100 handoffs:

- a retry's ticket (an earlier call may have made it) is searched first, all of the batch's
  in one search, and a found one is left as it is (an agent may have worked on it since);
- every other ticket is UPSERTED on the id property (``POST …/tickets/batch/upsert``), which
  never makes a second one;
- a row answered ``new: false`` already existed: its notes are read (two reads a ticket; rare
  in a backfill) — its note is there when one carries the handoff's marker; a first attempt
  whose ticket holds another note under the same marker is a conflict (O3);
- the missing notes go in one ``POST …/notes/batch/create``, each associated with its ticket.

So 1,000 first-time handoffs cost 20 calls (a batch holding retries, one search more).
Customers with an email add, per batch, one association call and their contacts' look-up
(one search and at most one batch create, for emails not seen before on this connection). A
ticket made whose note was refused comes back as an error: the worker then retries it, finds
it and posts the note once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubspot.crm.associations.v4 import BatchInputPublicDefaultAssociationMultiPost
from hubspot.crm.objects.notes import BatchInputSimplePublicObjectBatchInputForCreate as NotesInput
from hubspot.crm.tickets import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
)

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.http import item_error
from baton.connectors.hubspot.mapping import upsert_row
from baton.core.backfill import BulkItem
from baton.core.errors import IdempotencyConflict, PlatformError, RetryableError
from baton.core.mapping import Plan
from baton.core.mapping.note import carries_note_marker
from baton.core.ports import TicketRef

if TYPE_CHECKING:
    from baton.connectors.hubspot.connector import HubSpotConnector


@dataclass(frozen=True)
class _Planned:
    item: BulkItem
    plan: Plan

    @property
    def handoff_id(self) -> str:
        return self.item.handoff.id

    @property
    def note(self) -> dict[str, Any]:
        return dict(self.plan.requests[1].json)


def _unreadable() -> RetryableError:
    return RetryableError("unreadable batch answer", platform=facts.PLATFORM)


class BulkTickets:
    """The bulk create of one HubSpot connector."""

    def __init__(self, connector: HubSpotConnector) -> None:
        self.connector = connector
        self.client = connector.client
        self.associations = 0  # association calls made

    def create(self, items: Sequence[BulkItem]) -> list[TicketRef | PlatformError]:
        """Each item's ticket (made, or found from an earlier call) or why not, in order."""
        planned = [_Planned(item, self.connector.plan_for(item.handoff)) for item in items]
        found = self._found([p for p in planned if not p.item.first_attempt])
        answers: dict[str, tuple[str, bool] | PlatformError] = {
            handoff_id: (ticket_id, False) for handoff_id, ticket_id in found.items()
        }
        answers.update(self._upsert([p for p in planned if p.handoff_id not in found]))
        results: dict[str, TicketRef | PlatformError] = {}
        needs_note: list[tuple[_Planned, str]] = []
        made: set[str] = set()
        for entry in planned:
            answer = answers.get(entry.handoff_id) or _unreadable()
            if isinstance(answer, PlatformError):
                results[entry.handoff_id] = answer
                continue
            ticket_id, new = answer
            if new:
                made.add(entry.handoff_id)
                needs_note.append((entry, ticket_id))
                continue
            state = self._existing_note(entry, ticket_id)
            if state == "conflict":
                results[entry.handoff_id] = IdempotencyConflict(
                    "another handoff's ticket carries this handoff id",
                    platform=facts.PLATFORM,
                    code=facts.CONFLICT,
                )
            elif state == "missing":
                needs_note.append((entry, ticket_id))
            else:
                results[entry.handoff_id] = self._ref(entry, ticket_id, created=False)
        refused = self._post_notes(needs_note)
        self._associate(needs_note)
        for entry, ticket_id in needs_note:
            created = entry.handoff_id in made
            results[entry.handoff_id] = refused.get(entry.handoff_id) or self._ref(
                entry, ticket_id, created=created
            )
        return [results[item.handoff.id] for item in items]

    def _ref(self, entry: _Planned, ticket_id: str, *, created: bool) -> TicketRef:
        return TicketRef(
            facts.PLATFORM,
            ticket_id,
            self.connector.ticket_url(ticket_id),
            created,
            entry.plan.route,
            entry.plan.target,
            backup=False,
        )

    def _found(self, retries: list[_Planned]) -> dict[str, str]:
        """The tickets earlier calls made for ``retries``, by handoff id (one search): left as
        they are — an agent may have worked on them since — where an upsert would write the
        mapping's properties over theirs."""
        if not retries:
            return {}
        id_property = self.connector.reading.id_property
        wanted = [p.handoff_id for p in retries]
        search = self.client.sdk.crm.tickets.search_api
        body = PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": id_property, "operator": "IN", "values": wanted}]}
            ],
            properties=[id_property],
            limit=facts.SEARCH_MAX_LIMIT,
        )
        page = self.client.call(lambda: search.do_search(public_object_search_request=body))
        found: dict[str, list[str]] = {}
        for ticket in page.results or []:
            handoff_id = (ticket.properties or {}).get(id_property)
            if handoff_id in wanted:
                found.setdefault(str(handoff_id), []).append(str(ticket.id))
        # Several tickets for one id: upserting decides nothing; the single create will
        # raise the conflict when the worker retries it.
        return {handoff_id: ids[0] for handoff_id, ids in found.items() if len(ids) == 1}

    def _upsert(self, planned: list[_Planned]) -> dict[str, tuple[str, bool] | PlatformError]:
        """One upsert for the batch: per handoff, (ticket id, new) or the row's error."""
        if not planned:
            return {}
        id_property = self.connector.reading.id_property
        inputs = [upsert_row(p.plan.requests[0].json, id_property) for p in planned]
        batch = self.client.sdk.crm.tickets.batch_api
        body = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
        answer = self.client.call(lambda: batch.upsert(body))
        found: dict[str, tuple[str, bool] | PlatformError] = {}
        for row in answer.results or []:
            handoff_id = (row.properties or {}).get(id_property)
            if isinstance(handoff_id, str) and row.id:
                found[handoff_id] = (str(row.id), bool(row.new))
        for error in getattr(answer, "errors", None) or []:
            context = getattr(error, "context", None) or {}
            for handoff_id in context.get("ids") or []:
                found[str(handoff_id)] = item_error(error)
        return found

    def _existing_note(self, entry: _Planned, ticket_id: str) -> str:
        """``present`` (this handoff's note is there), ``missing``, or ``conflict`` (a first
        attempt found another note under the handoff's marker)."""
        bodies = [
            b
            for b in self.connector.note_bodies(ticket_id)
            if carries_note_marker(b, entry.handoff_id)
        ]
        if not bodies:
            return "missing"
        mine = str(entry.note["properties"][facts.NOTE_BODY])
        if entry.item.first_attempt and mine not in bodies:
            return "conflict"
        return "present"

    def _post_notes(self, notes: list[tuple[_Planned, str]]) -> dict[str, PlatformError]:
        """Create the notes in one call; the handoffs whose note was refused. Each input
        carries its handoff id as ``objectWriteTraceId``, which HubSpot echoes on the row it
        made: a note with no row was refused (207)."""
        if not notes:
            return {}
        inputs = []
        for entry, ticket_id in notes:
            note = entry.note
            associations = [{**a, "to": {"id": ticket_id}} for a in note.get("associations") or []]
            inputs.append(
                {
                    "properties": note["properties"],
                    "associations": associations,
                    "objectWriteTraceId": entry.handoff_id,
                }
            )
        batch = self.client.sdk.crm.objects.notes.batch_api
        answer = self.client.call(lambda: batch.create(NotesInput(inputs=inputs)))
        errors = list(getattr(answer, "errors", None) or [])
        if not errors:
            return {}
        posted = {row.object_write_trace_id for row in answer.results or []}
        return {
            entry.handoff_id: item_error(errors[0])
            for entry, _ in notes
            if entry.handoff_id not in posted
        }

    def _associate(self, made: list[tuple[_Planned, str]]) -> None:
        """Each ticket with its customer's contact: the contacts found or created for the
        whole batch, then one batch of default associations."""
        emails = {
            entry.handoff_id: self.connector.customer_email(entry.item.handoff) for entry, _ in made
        }
        contacts = self.connector.contacts.contact_ids([e for e in emails.values() if e])
        pairs = [
            {"from": {"id": ticket_id}, "to": {"id": contacts[email.strip().casefold()]}}
            for entry, ticket_id in made
            if (email := emails[entry.handoff_id]) and email.strip().casefold() in contacts
        ]
        if pairs:
            self.associations += 1
            batch = self.client.sdk.crm.associations.v4.batch_api
            body = BatchInputPublicDefaultAssociationMultiPost(inputs=pairs)
            self.client.call(lambda: batch.create_default("tickets", "contacts", body))
