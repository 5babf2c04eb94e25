"""What a sync page learns beyond the Case row: published CaseComments and CaseHistory.

A Case alone cannot say when it was first answered, how often it was reopened or moved. A sync
page asks two more SOQL queries for all of its cases at once (batches of
``facts.ACTIVITY_IDS_PER_QUERY`` ids, so a page of 200 cases costs two calls, not one per case):

* ``CaseComment`` rows with ``IsPublished = true``: Baton's own note is never published (the
  mapping writes it private), so each is a public reply; the first one's CreatedDate −
  the case's CreatedDate is ``first_response_seconds``, their number ``public_replies``;
  those written by staff are also the page's :class:`~baton.core.replies.PublicReply`
  (:mod:`.replies`: the rows carry their author through ``CreatedBy``);
* ``CaseHistory`` rows for ``Status`` and ``Owner`` (Field History Tracking must be on for
  them): a Status change from a closed status to an open one is a reopen; an owner change
  after the case was created is a transfer (Salesforce writes two rows per change, one with
  the ids and one with the names: only one of them is counted).

Without Field History Tracking the CaseHistory query is refused (INVALID_TYPE) or finds no rows:
reopens and transfers then stay 0, as before, and the connector says so once in its log.
An Outbound Message carries only the case's current fields, so a webhook can know none of this.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.replies import COMMENT_COLUMNS
from baton.connectors.salesforce.values import CaseActivity, CaseReading, is_true, timestamp
from baton.core.errors import PlatformError

Json = dict[str, Any]
log = logging.getLogger(__name__)
_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


class Querying(Protocol):
    """The client's SOQL read (every batch of one query)."""

    def query_all(self, soql: str) -> list[dict[str, Any]]: ...  # pragma: no cover


def closed_statuses(reading: CaseReading, cases: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Statuses (casefolded) that close a case: the mapping's ``resolved`` ones, and any a
    page's case holds while IsClosed."""
    closed = {status for status, outcome in reading.statuses.items() if outcome == "resolved"}
    for case in cases:
        status = case.get(facts.CASE_STATUS)
        if isinstance(status, str) and is_true(case.get(facts.CASE_IS_CLOSED)):
            closed.add(status.strip().casefold())
    return frozenset(closed)


def activity_of(
    case: Mapping[str, Any],
    comments: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]] | None,
    closed: frozenset[str],
) -> CaseActivity:
    """One case's activity from its published comments and its Status/Owner history rows
    (each in CreatedDate order); ``history`` None when it could not be read."""
    created = timestamp(case.get(facts.CASE_CREATED_DATE))
    times = sorted(t for t in (timestamp(c.get(facts.CASE_CREATED_DATE)) for c in comments) if t)
    first = None
    if created is not None and times and times[0] >= created:
        first = int((times[0] - created).total_seconds())
    return CaseActivity(
        first_response_seconds=first,
        public_replies=len(comments),
        reopen_count=reopens(history or [], closed),
        transfer_count=transfers(history or [], created),
    )


def reopens(history: Iterable[Mapping[str, Any]], closed: frozenset[str]) -> int:
    """Status changes from a closed status to an open one."""
    count = 0
    for row in history:
        if row.get("Field") != facts.HISTORY_STATUS:
            continue
        old, new = _folded(row.get("OldValue")), _folded(row.get("NewValue"))
        count += old in closed and new is not None and new not in closed
    return count


def transfers(history: Iterable[Mapping[str, Any]], created: datetime | None) -> int:
    """Owner changes after the case's creation: the rows whose values are ids (one per
    change); when none are, one per distinct time among the name rows."""
    rows = [
        row
        for row in history
        if row.get("Field") == facts.HISTORY_OWNER
        and (when := timestamp(row.get(facts.CASE_CREATED_DATE))) is not None
        and (created is None or when > created)
    ]
    by_id = [row for row in rows if _owner_id(row.get("NewValue"))]
    if by_id:
        return len(by_id)
    return len({row.get(facts.CASE_CREATED_DATE) for row in rows})


class ActivityReader:
    """Reads a page's comments and history (two queries per batch of ids); one per sync run,
    so a refused CaseHistory is asked once a run and logged once a connector."""

    def __init__(self, client: Querying, reading: CaseReading, warned: set[str]) -> None:
        self._client = client
        self._reading = reading
        self._warned = warned
        self._history_refused = False

    def read(self, cases: Sequence[Mapping[str, Any]]) -> dict[str, CaseActivity]:
        """Each case's activity, by its 15-character id."""
        return self.page(cases)[0]

    def page(
        self, cases: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, CaseActivity], list[Json]]:
        """Each case's activity, by its 15-character id, and the published CaseComment rows
        read for it (the page's public replies are among them: :mod:`.replies`)."""
        ids = [str(c[facts.CASE_ID]) for c in cases if _ID.match(str(c.get(facts.CASE_ID)))]
        if not ids:
            return {}, []
        rows = self._rows(ids, published_comments_query)
        comments = self._grouped(rows, "ParentId")
        history_rows = None if self._history_refused else self._history(ids)
        history = None if history_rows is None else self._grouped(history_rows, "CaseId")
        if history_rows == [] and any(is_true(c.get(facts.CASE_IS_CLOSED)) for c in cases):
            self._warn("empty", "CaseHistory has no Status rows for closed cases")
        closed = closed_statuses(self._reading, cases)
        activity = {
            case_id[:15]: activity_of(
                case,
                comments.get(case_id[:15], []),
                None if history is None else history.get(case_id[:15], []),
                closed,
            )
            for case in cases
            if (case_id := str(case.get(facts.CASE_ID)))[:15] in {i[:15] for i in ids}
        }
        return activity, rows

    def _history(self, ids: list[str]) -> list[Json] | None:
        try:
            return self._rows(ids, history_query)
        except PlatformError as exc:
            if exc.code not in facts.HISTORY_REFUSED_CODES:
                raise
            self._history_refused = True
            self._warn("refused", f"the CaseHistory query was refused ({exc.code})")
            return None

    def _rows(self, ids: list[str], query: Any) -> list[Json]:
        rows: list[Json] = []
        step = facts.ACTIVITY_IDS_PER_QUERY
        for start in range(0, len(ids), step):
            rows.extend(self._client.query_all(query(ids[start : start + step])))
        return rows

    @staticmethod
    def _grouped(rows: Iterable[Json], key: str) -> dict[str, list[Json]]:
        grouped: dict[str, list[Json]] = {}
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get(key), str):
                grouped.setdefault(row[key][:15], []).append(row)
        return grouped

    def _warn(self, kind: str, why: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        log.warning(
            "salesforce sync: %s; reopens and transfers are reported as 0 (turn on Field "
            "History Tracking for Case Status and Owner to have them)",
            why,
        )


def published_comments_query(case_ids: Sequence[str]) -> str:
    """The published CaseComments of ``case_ids``, oldest first, with their authors."""
    columns = ", ".join(COMMENT_COLUMNS)
    return (
        f"SELECT {columns} FROM {facts.CASE_COMMENT} "  # noqa: S608
        f"WHERE ParentId IN ({_id_list(case_ids)}) AND IsPublished = true ORDER BY CreatedDate"
    )


def history_query(case_ids: Sequence[str]) -> str:
    """The Status and Owner CaseHistory rows of ``case_ids``, oldest first."""
    fields = ", ".join(f"'{f}'" for f in (facts.HISTORY_STATUS, facts.HISTORY_OWNER))
    return (
        "SELECT CaseId, Field, OldValue, NewValue, CreatedDate FROM CaseHistory "  # noqa: S608
        f"WHERE CaseId IN ({_id_list(case_ids)}) AND Field IN ({fields}) ORDER BY CreatedDate"
    )


def _id_list(case_ids: Sequence[str]) -> str:
    if not case_ids or not all(_ID.match(i) for i in case_ids):
        raise ValueError("not Salesforce ids")
    return ", ".join(f"'{i}'" for i in case_ids)


def _folded(value: Any) -> str | None:
    return value.strip().casefold() if isinstance(value, str) and value.strip() else None


def _owner_id(value: Any) -> bool:
    return (
        isinstance(value, str)
        and _ID.match(value) is not None
        and value.startswith((facts.QUEUE_ID_PREFIX, facts.USER_ID_PREFIX))
    )
