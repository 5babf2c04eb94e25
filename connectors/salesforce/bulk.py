"""Many cases in few calls, for ``baton backfill``: the sObject Collections endpoints.

Per batch of up to 200 handoffs, as the single create does one at a time:

- first attempts are INSERTED (``POST /composite/sobjects``, ``allOrNone`` false) with the
  external id set, so a case already carrying a handoff id is refused (``DUPLICATE_VALUE``),
  never overwritten; such a case is this handoff's only when its note is this handoff's note,
  word for word (one query finds the cases, one reads their comments), else a conflict;
- retries are UPSERTED on the external id (``PATCH /composite/sobjects/Case/<field>``): an
  earlier call may have made the case;
- the cases that already existed have their comments read in one query (an earlier call may
  have posted the note), and the missing notes go in one ``POST /composite/sobjects``.

Cases that set an owner go in their own call with ``Sforce-Auto-Assign: FALSE``. So 1,000
first-time handoffs cost 10 calls. A case made whose note was refused comes back as an error:
the worker then retries it, finds the case and posts the note once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.http import classify_status, json_body
from baton.connectors.salesforce.mapping import duplicate_of
from baton.connectors.salesforce.sync import api_name, soql_text
from baton.core.backfill import BulkItem
from baton.core.errors import IdempotencyConflict, PlatformError, RetryableError
from baton.core.mapping import Plan
from baton.core.mapping.note import carries_note_marker
from baton.core.ports import TicketRef

if TYPE_CHECKING:
    from baton.connectors.salesforce.connector import SalesforceConnector

Record = dict[str, Any]


@dataclass(frozen=True)
class _Planned:
    item: BulkItem
    plan: Plan

    @property
    def handoff_id(self) -> str:
        return self.item.handoff.id

    @property
    def case(self) -> Record:
        return dict(self.plan.requests[0].json)

    @property
    def note(self) -> Record:
        return dict(self.plan.requests[1].json)


def _errors(record: Record) -> list[Record]:
    """A per-record failure's errors (``statusCode``) in the error-array shape (``errorCode``)."""
    return [
        {"errorCode": e.get("statusCode"), "message": e.get("message"), "fields": e.get("fields")}
        for e in record.get("errors") or []
        if isinstance(e, dict)
    ]


def _unreadable() -> RetryableError:
    return RetryableError("unreadable sObject Collections answer", platform=facts.PLATFORM)


def _conflict() -> IdempotencyConflict:
    return IdempotencyConflict(
        "another handoff's case carries this handoff id",
        platform=facts.PLATFORM,
        code=facts.DUPLICATE_VALUE,
    )


class BulkCases:
    """The bulk create of one Salesforce connector."""

    def __init__(self, connector: SalesforceConnector) -> None:
        self.connector = connector
        self.client = connector.client
        self.field = api_name(connector.reading.external_id_field)

    def create(self, items: Sequence[BulkItem]) -> list[TicketRef | PlatformError]:
        """Each item's case (made, or found from an earlier call) or why not, in order."""
        planned = [_Planned(item, self.connector.plan_for(item.handoff)) for item in items]
        answers: dict[str, Record | PlatformError] = {}
        for first_attempt in (True, False):
            for owner_set in (True, False):
                group = [
                    p
                    for p in planned
                    if p.item.first_attempt is first_attempt
                    and (facts.CASE_OWNER in p.case) is owner_set
                ]
                if group:
                    answers.update(self._write(group, insert=first_attempt, owner_set=owner_set))
        results: dict[str, TicketRef | PlatformError] = {}
        made: list[tuple[_Planned, str]] = []
        existed: list[tuple[_Planned, str]] = []
        carried: list[_Planned] = []
        for entry in planned:
            answer = answers.get(entry.handoff_id) or _unreadable()
            if isinstance(answer, PlatformError):
                results[entry.handoff_id] = answer
            elif answer.get("carried"):
                carried.append(entry)
            else:
                (made if answer.get("created") else existed).append((entry, str(answer["id"])))
        same, conflicts = self._same_handoff(carried)
        results.update({entry.handoff_id: _conflict() for entry in conflicts})
        refused = self._post_notes(made + self._without_note(existed))
        for entry, case_id in made + existed + same:
            results[entry.handoff_id] = refused.get(entry.handoff_id) or TicketRef(
                facts.PLATFORM,
                case_id,
                self.connector.ticket_url(case_id),
                any(entry is m for m, _ in made),
                entry.plan.route,
                entry.plan.target,
                backup=False,
            )
        return [results[item.handoff.id] for item in items]

    def _write(
        self, group: list[_Planned], *, insert: bool, owner_set: bool
    ) -> dict[str, Record | PlatformError]:
        """Insert (first attempts) or upsert (retries) the group's cases: per handoff, its
        record ``{id, created}``, ``{carried: True}`` for an insert refused as a duplicate of
        the external id, or the error."""
        records = [
            {"attributes": {"type": "Case"}, **p.case, self.field: p.handoff_id} for p in group
        ]
        headers = {facts.AUTO_ASSIGN_HEADER: "FALSE"} if owner_set else {}
        path = "composite/sobjects" if insert else f"composite/sobjects/Case/{self.field}"
        response = self.client.request(
            "POST" if insert else "PATCH",
            self.client.api_path(path),
            json={"allOrNone": False, "records": records},
            headers=headers,
        )
        answer = json_body(response)
        if not isinstance(answer, list) or len(answer) != len(group):
            raise _unreadable()
        found: dict[str, Record | PlatformError] = {}
        for entry, record in zip(group, answer, strict=True):
            record = record if isinstance(record, dict) else {}
            if record.get("success") and record.get("id"):
                found[entry.handoff_id] = {**record, "created": insert or record.get("created")}
            elif insert and duplicate_of(_errors(record), self.field):
                found[entry.handoff_id] = {"carried": True}
            else:
                found[entry.handoff_id] = classify_status(400, _errors(record))
        return found

    def _comments(self, case_ids: list[str]) -> dict[str, list[str]]:
        """The comment bodies of ``case_ids``, by 15-character case id (one query)."""
        if not case_ids:
            return {}
        ids = ", ".join(soql_text(case_id) for case_id in case_ids)
        rows = self.client.query_all(
            f"SELECT ParentId, CommentBody FROM CaseComment WHERE ParentId IN ({ids})"  # noqa: S608
        )
        bodies: dict[str, list[str]] = {}
        for row in rows:
            parent = str(row.get("ParentId"))[:15]
            bodies.setdefault(parent, []).append(str(row.get("CommentBody") or ""))
        return bodies

    def _same_handoff(
        self, carried: list[_Planned]
    ) -> tuple[list[tuple[_Planned, str]], list[_Planned]]:
        """Of the handoffs whose insert was refused as a duplicate: those whose case holds
        their very note (the same handoff sent again), and the conflicts."""
        if not carried:
            return [], []
        wanted = ", ".join(soql_text(entry.handoff_id) for entry in carried)
        rows = self.client.query_all(
            f"SELECT Id, {self.field} FROM Case WHERE {self.field} IN ({wanted})"  # noqa: S608
        )
        case_of = {str(row.get(self.field)): str(row.get(facts.CASE_ID)) for row in rows}
        bodies = self._comments(sorted(set(case_of.values())))
        same, conflicts = [], []
        for entry in carried:
            case_id = case_of.get(entry.handoff_id)
            note = str(entry.note.get("CommentBody", ""))
            if case_id is not None and note in bodies.get(case_id[:15], []):
                same.append((entry, case_id))
            else:
                conflicts.append(entry)
        return same, conflicts

    def _without_note(self, existed: list[tuple[_Planned, str]]) -> list[tuple[_Planned, str]]:
        """Those of the cases that already existed whose note is not there yet."""
        bodies = self._comments([case_id for _, case_id in existed])
        return [
            (entry, case_id)
            for entry, case_id in existed
            if not any(
                carries_note_marker(body, entry.handoff_id) for body in bodies.get(case_id[:15], [])
            )
        ]

    def _post_notes(self, notes: list[tuple[_Planned, str]]) -> dict[str, PlatformError]:
        """Post the private notes in one call; the handoffs whose note was refused."""
        if not notes:
            return {}
        records = [
            {"attributes": {"type": facts.CASE_COMMENT}, **entry.note, "ParentId": case_id}
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
            entry.handoff_id: classify_status(
                400, _errors(record if isinstance(record, dict) else {})
            )
            for (entry, _), record in zip(notes, answer, strict=True)
            if not (isinstance(record, dict) and record.get("success"))
        }
