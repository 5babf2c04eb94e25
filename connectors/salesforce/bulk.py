"""Many cases in few calls, for ``baton backfill``: the sObject Collections endpoints.

Per batch of up to 200 handoffs: one ``PATCH /composite/sobjects/Case/<ExternalIdField>``
upserts every case on its handoff id (per-record results, ``allOrNone`` false; cases that set
an owner go in their own call with ``Sforce-Auto-Assign: FALSE``), one SOQL query reads the
comments of the cases that already existed (an earlier run may have posted their note), and
one ``POST /composite/sobjects`` adds the missing notes as private CaseComments. So 1,000
first-time handoffs cost 10 calls. A case that was made but whose note was refused comes back
as an error: the worker then retries it, finds the case and posts the note once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.http import classify_status, json_body
from baton.connectors.salesforce.sync import api_name, soql_text
from baton.core.backfill import BulkItem
from baton.core.errors import PlatformError, RetryableError
from baton.core.mapping import Plan
from baton.core.mapping.note import carries_note_marker
from baton.core.ports import TicketRef

if TYPE_CHECKING:
    from baton.connectors.salesforce.connector import SalesforceConnector


@dataclass(frozen=True)
class _Planned:
    item: BulkItem
    plan: Plan

    @property
    def case(self) -> dict[str, Any]:
        return dict(self.plan.requests[0].json)

    @property
    def comment(self) -> dict[str, Any]:
        return dict(self.plan.requests[1].json)


def _record_error(record: dict[str, Any]) -> PlatformError:
    """A per-record failure (``errors: [{statusCode, message, fields}]``) in Baton's tree."""
    errors = record.get("errors") or []
    entries = [
        {"errorCode": e.get("statusCode"), "message": e.get("message"), "fields": e.get("fields")}
        for e in errors
        if isinstance(e, dict)
    ]
    return classify_status(400, entries)


def _unreadable() -> RetryableError:
    return RetryableError("unreadable sObject Collections answer", platform=facts.PLATFORM)


class BulkCases:
    """The bulk create of one Salesforce connector."""

    def __init__(self, connector: SalesforceConnector) -> None:
        self.connector = connector
        self.client = connector.client

    def create(self, items: Sequence[BulkItem]) -> list[TicketRef | PlatformError]:
        """Each item's case (made, or found from an earlier call) or why not, in order."""
        planned = [_Planned(item, self.connector.plan_for(item.handoff)) for item in items]
        cases: dict[str, dict[str, Any] | PlatformError] = {}
        with_owner = [p for p in planned if facts.CASE_OWNER in p.case]
        without_owner = [p for p in planned if facts.CASE_OWNER not in p.case]
        for group, auto_assign in ((with_owner, False), (without_owner, True)):
            if group:
                cases.update(self._upsert(group, auto_assign))
        results: dict[str, TicketRef | PlatformError] = {}
        made: list[tuple[_Planned, str]] = []
        existed: list[tuple[_Planned, str]] = []
        for entry in planned:
            record = cases.get(entry.item.handoff.id)
            if record is None or isinstance(record, PlatformError):
                results[entry.item.handoff.id] = record or _unreadable()
                continue
            (made if record.get("created") else existed).append((entry, str(record["id"])))
        refused = self._post_notes(made + self._without_note(existed))
        for entry, case_id in made + existed:
            handoff_id = entry.item.handoff.id
            results[handoff_id] = refused.get(handoff_id) or TicketRef(
                facts.PLATFORM,
                case_id,
                self.connector.ticket_url(case_id),
                (entry, case_id) in made,
                entry.plan.route,
                entry.plan.target,
                backup=False,
            )
        return [results[item.handoff.id] for item in items]

    def _upsert(
        self, group: list[_Planned], auto_assign: bool
    ) -> dict[str, dict[str, Any] | PlatformError]:
        field = api_name(self.connector.reading.external_id_field)
        records = [
            {"attributes": {"type": "Case"}, **p.case, field: p.item.handoff.id} for p in group
        ]
        headers = {} if auto_assign else {facts.AUTO_ASSIGN_HEADER: "FALSE"}
        response = self.client.request(
            "PATCH",
            self.client.api_path(f"composite/sobjects/Case/{field}"),
            json={"allOrNone": False, "records": records},
            headers=headers,
        )
        answer = json_body(response)
        if not isinstance(answer, list) or len(answer) != len(group):
            raise _unreadable()
        found: dict[str, dict[str, Any] | PlatformError] = {}
        for entry, record in zip(group, answer, strict=True):
            ok = isinstance(record, dict) and record.get("success") and record.get("id")
            found[entry.item.handoff.id] = (
                record if ok else _record_error(record if isinstance(record, dict) else {})
            )
        return found

    def _without_note(self, existed: list[tuple[_Planned, str]]) -> list[tuple[_Planned, str]]:
        """Those of the cases that already existed whose note is not there yet (one query)."""
        if not existed:
            return []
        ids = ", ".join(soql_text(case_id) for _, case_id in existed)
        rows = self.client.query_all(
            f"SELECT ParentId, CommentBody FROM CaseComment WHERE ParentId IN ({ids})"  # noqa: S608
        )
        bodies: dict[str, list[str]] = {}
        for row in rows:
            bodies.setdefault(str(row.get("ParentId"))[:15], []).append(
                str(row.get("CommentBody") or "")
            )
        return [
            (entry, case_id)
            for entry, case_id in existed
            if not any(
                carries_note_marker(body, entry.item.handoff.id)
                for body in bodies.get(case_id[:15], [])
            )
        ]

    def _post_notes(self, notes: list[tuple[_Planned, str]]) -> dict[str, PlatformError]:
        """Post the private notes in one call; the handoffs whose note was refused."""
        if not notes:
            return {}
        records = [
            {"attributes": {"type": facts.CASE_COMMENT}, **entry.comment, "ParentId": case_id}
            for entry, case_id in notes
        ]
        response = self.client.request(
            "POST",
            self.client.api_path("composite/sobjects"),
            json={"allOrNone": False, "records": records},
        )
        answer = json_body(response)
        if not isinstance(answer, list) or len(answer) != len(notes):
            raise _unreadable()
        return {
            entry.item.handoff.id: _record_error(record if isinstance(record, dict) else {})
            for (entry, _), record in zip(notes, answer, strict=True)
            if not (isinstance(record, dict) and record.get("success"))
        }
