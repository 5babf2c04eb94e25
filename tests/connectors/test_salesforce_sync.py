"""connectors.salesforce sync against ``responses``: the keyset boundary on (SystemModstamp, Id)
with ties, ``nextRecordsUrl`` paging (S1, S4), deletions from ``deleted/``, the catalog from
describe and SOQL, the Case → Disposition reading shared with Outbound Messages, and what a
page reads from published CaseComments and CaseHistory (first response, reopens, transfers)."""

from __future__ import annotations

import functools
import itertools
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.connectors.salesforce.activity import (
    activity_of,
    closed_statuses,
    history_query,
    published_comments_query,
    reopens,
    transfers,
)
from baton.connectors.salesforce.connector import SalesforceConnector
from baton.connectors.salesforce.sync import SyncCursor, soql_datetime
from baton.connectors.salesforce.values import (
    CaseActivity,
    CaseReading,
    case_disposition,
)
from baton.core.disposition import csat_value
from baton.core.mapping import CompiledMapping, load_mapping
from tests.support.paths import MAPPINGS

OVERRIDE = "http://127.0.0.1:8999"
API = f"{OVERRIDE}/services/data/v61.0"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BASE = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
_KEYSET = re.compile(
    r"SystemModstamp > (\S+) OR \(SystemModstamp = (\S+) AND Id > '([A-Za-z0-9]+)'\)"
)
_FROM = re.compile(r"SystemModstamp >= (\S+)")
_LIMIT = re.compile(r"LIMIT (\d+)$")


@functools.cache
def mapping() -> CompiledMapping:
    return load_mapping(MAPPINGS, "salesforce")


def _connector(page_limit: int) -> SalesforceConnector:
    env = {
        "BATON_SALESFORCE_CLIENT_ID": "key",
        "BATON_SALESFORCE_CLIENT_SECRET": "secret",
        "BATON_SALESFORCE_DOMAIN": "acme.my",
        "BATON_SALESFORCE_HOST_OVERRIDE": OVERRIDE,
    }
    connector = SalesforceConnector.from_env(mapping(), env)
    connector._clock = lambda: NOW
    connector.page_limit = page_limit
    return connector


def _case(number: int, modstamp: datetime) -> dict[str, Any]:
    return {
        "attributes": {"type": "Case"},
        "Id": f"5005g{number:013d}",
        "Status": "Working",
        "OwnerId": "00G5g0000000001AAA",
        "IsClosed": False,
        "ClosedDate": None,
        "CreatedDate": "2026-11-19T00:00:00.000+0000",
        "SystemModstamp": modstamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "Baton_Handoff_Id__c": f"ho_{number}",
    }


class FakeOrg:
    """Answers the connector's keyset SOQL over ``cases`` in batches of ``batch`` rows."""

    def __init__(
        self,
        cases: list[dict[str, Any]],
        batch: int,
        comments: list[dict[str, Any]] | None = None,
        history: list[dict[str, Any]] | None = None,
    ) -> None:
        self.cases = sorted(cases, key=lambda c: (c["SystemModstamp"], c["Id"]))
        self.batch = batch
        self.comments = comments or []
        self.history = history  # None: CaseHistory is refused (no Field History Tracking)
        self.activity_queries: list[str] = []
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.counter = itertools.count()

    def query(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        soql = parse_qs(urlsplit(request.url).query)["q"][0]
        if " FROM CaseComment " in soql or " FROM CaseHistory " in soql:
            return self._activity(soql)
        assert "Baton_Handoff_Id__c != null" in soql
        assert soql.endswith(_LIMIT.search(soql).group(0))  # type: ignore[union-attr]
        assert "ORDER BY SystemModstamp, Id" in soql
        keyset = _KEYSET.search(soql)
        if keyset:
            assert keyset.group(1) == keyset.group(2)
            t, after_id = _parsed(keyset.group(1)), keyset.group(3)
            rows = [c for c in self.cases if (_stamp(c), c["Id"]) > (t, after_id)]
        else:
            t = _parsed(_FROM.search(soql).group(1))  # type: ignore[union-attr]
            rows = [c for c in self.cases if _stamp(c) >= t]
        rows = rows[: int(_LIMIT.search(soql).group(1))]  # type: ignore[union-attr]
        return self._page(rows)

    def _activity(self, soql: str) -> tuple[int, dict[str, str], str]:
        self.activity_queries.append(soql)
        ids = set(re.findall(r"'(5005g[A-Za-z0-9]+)'", soql))
        if " FROM CaseComment " in soql:
            assert soql == published_comments_query(sorted(ids, key=soql.index))
            rows = [c for c in self.comments if c["ParentId"] in ids]
        elif self.history is None:
            error = [{"errorCode": "INVALID_TYPE", "message": "sObject type 'CaseHistory'"}]
            return 400, {}, json.dumps(error)
        else:
            assert soql == history_query(sorted(ids, key=soql.index))
            rows = [h for h in self.history if h["CaseId"] in ids]
        rows.sort(key=lambda r: r["CreatedDate"])
        return 200, {}, json.dumps({"totalSize": len(rows), "done": True, "records": rows})

    def more(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        locator = urlsplit(request.url).path.rpartition("/")[2]
        return self._page(self.locators.pop(locator))

    def _page(self, rows: list[dict[str, Any]]) -> tuple[int, dict[str, str], str]:
        head, rest = rows[: self.batch], rows[self.batch :]
        page: dict[str, Any] = {"totalSize": len(rows), "done": not rest, "records": head}
        if rest:
            locator = f"01gLOC{next(self.counter)}-{self.batch}"
            self.locators[locator] = rest
            page["nextRecordsUrl"] = f"/services/data/v61.0/query/{locator}"
        return 200, {}, json.dumps(page)


def _stamp(case: dict[str, Any]) -> datetime:
    return datetime.strptime(case["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.000+0000").replace(
        tzinfo=UTC
    )


def _parsed(literal: str) -> datetime:
    return datetime.strptime(literal, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _serve(rsps: responses.RequestsMock, org: FakeOrg) -> None:
    rsps.add(
        responses.POST,
        f"{OVERRIDE}/services/oauth2/token",
        json={"access_token": "t", "instance_url": "https://acme.my.salesforce.com"},
    )
    rsps.add_callback(responses.GET, f"{API}/query/", callback=org.query)
    rsps.add_callback(
        responses.GET, re.compile(rf"{re.escape(API)}/query/01gLOC.*"), callback=org.more
    )
    rsps.add(
        responses.GET,
        re.compile(rf"{re.escape(API)}/sobjects/Case/deleted/.*"),
        json={"deletedRecords": [], "earliestDateAvailable": None},
    )


@given(
    offsets=st.lists(st.integers(0, 6), min_size=0, max_size=30),
    page_limit=st.integers(1, 7),
    batch=st.integers(1, 5),
    runs_split=st.integers(1, 4),
)
@settings(max_examples=150, deadline=None)
def test_every_case_is_read_exactly_once_across_ties_pages_and_runs(
    offsets: list[int], page_limit: int, batch: int, runs_split: int
) -> None:
    """S1/S4: modstamps with ties, any LIMIT and batch size, resumed from stored cursors."""
    cases = [_case(n, BASE + timedelta(seconds=s)) for n, s in enumerate(offsets)]
    org = FakeOrg(cases, batch)
    seen: list[str] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _serve(rsps, org)
        connector = _connector(page_limit)
        cursor: str | None = None
        for _run in range(runs_split):  # later runs resume from the stored cursor: no repeats
            for page in connector.changes(cursor, since=BASE):
                seen.extend(d.ticket_id for d in page.dispositions if d.outcome != "deleted")
                cursor = page.cursor
    assert sorted(seen) == sorted(c["Id"] for c in cases)
    assert len(seen) == len(set(seen))


def test_deletions_come_from_deleted_within_15_days() -> None:
    org = FakeOrg([], 10)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _serve(rsps, org)
        rsps.replace(
            responses.GET,
            re.compile(rf"{re.escape(API)}/sobjects/Case/deleted/.*"),
            json={
                "deletedRecords": [
                    {"id": "5005g0000000000001", "deletedDate": "2026-11-21T11:00:00.000+0000"}
                ],
                "earliestDateAvailable": "2026-11-01T00:00:00.000+0000",
            },
        )
        pages = list(_connector(100).changes(None, since=NOW - timedelta(days=40)))
        deleted_call = next(c for c in rsps.calls if "/deleted/" in c.request.url)
    query = parse_qs(urlsplit(deleted_call.request.url).query)
    start = datetime.strptime(query["start"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert NOW - start <= timedelta(days=15)
    assert query["end"] == [soql_datetime(NOW)]
    last = pages[-1]
    assert last.done
    (gone,) = last.dispositions
    assert (gone.ticket_id, gone.outcome) == ("5005g0000000000001", "deleted")
    assert SyncCursor.decode(last.cursor, NOW).deleted_until == NOW


def test_a_case_reads_the_same_from_soql_and_from_an_outbound_message() -> None:
    reading = CaseReading.of(
        "Baton_Handoff_Id__c", mapping().statuses, mapping().catalog, csat_field="CSAT__c"
    )
    soql = {
        "Id": "5005g00000AbCdEAAZ",
        "Status": "Escalated",
        "OwnerId": "0055g0000000001AAA",
        "IsClosed": False,
        "CreatedDate": "2026-11-21T10:00:00.000+0000",
        "SystemModstamp": "2026-11-21T11:00:00.000+0000",
        "Baton_Handoff_Id__c": "ho_1",
        "CSAT__c": 4,
    }
    message = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in soql.items()
    }
    message["SystemModstamp"] = "2026-11-21T11:00:00.000Z"
    one, other = (
        case_disposition(case, reading, ticket_url=lambda i: None, source="sync")
        for case in (soql, message)
    )
    assert one == other
    assert one is not None
    assert one.outcome == "transferred"  # the mapping's dispositions: Escalated
    assert one.csat == 0.75  # 4 on a 1-5 scale


def test_unknown_statuses_follow_is_closed_and_foreign_cases_are_skipped() -> None:
    reading = CaseReading.of("Baton_Handoff_Id__c", {}, None)
    case = _case(1, BASE)
    case.update(Status="Solved by bot", IsClosed=True, ClosedDate="2026-11-19T01:00:00.000+0000")
    got = case_disposition(case, reading, ticket_url=lambda i: None, source="sync")
    assert got is not None
    assert (got.outcome, got.resolution_seconds) == ("resolved", 3600)
    case["Baton_Handoff_Id__c"] = None
    assert case_disposition(case, reading, ticket_url=lambda i: None, source="sync") is None


def test_csat_values_normalize_to_zero_one() -> None:
    assert csat_value("5", 5.0) == (1.0, "5")
    assert csat_value(1.0, 5.0) == (0.0, "1.0")  # the worst of 1-5
    assert csat_value("3", 5.0) == (0.5, "3")
    assert csat_value(0.5, 1.0) == (0.5, "0.5")
    assert csat_value("Good", 5.0) == (1.0, "Good")
    assert csat_value("7", 5.0) == (None, "7")
    assert csat_value(None, 5.0) == (None, None)


def test_refresh_catalog_reads_describe_queues_and_users() -> None:
    describe = {
        "fields": [
            {
                "name": "Priority",
                "label": "Priority",
                "type": "picklist",
                "picklistValues": [
                    {"value": "High", "label": "High", "active": True},
                    {"value": "Old", "label": "Old", "active": False},
                ],
            },
            {"name": "Subject", "label": "Subject", "type": "string"},
            {
                "name": "Baton_Handoff_Id__c",
                "label": "Baton Handoff ID",
                "type": "string",
                "custom": True,
            },
        ],
        "recordTypeInfos": [
            {"name": "Master", "recordTypeId": "012000000000000AAA", "master": True},
            {"name": "Support", "recordTypeId": "0125g0000000001AAA", "active": True},
        ],
    }

    def query(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        soql = parse_qs(urlsplit(request.url).query)["q"][0]
        if "FROM Group" in soql:
            rows = [{"Id": "00G1", "Name": "Tier 1 Support", "DeveloperName": "Tier_1"}]
        else:
            assert "IsActive = true" in soql
            rows = [{"Id": "0051", "Name": "Maya Okafor", "Email": "maya@acme.example"}]
        return 200, {}, json.dumps({"records": rows, "done": True, "totalSize": 1})

    with responses.RequestsMock() as rsps:
        rsps.add(
            responses.POST,
            f"{OVERRIDE}/services/oauth2/token",
            json={"access_token": "t", "instance_url": "https://acme.my.salesforce.com"},
        )
        rsps.add(responses.GET, f"{API}/sobjects/Case/describe/", json=describe)
        rsps.add_callback(responses.GET, f"{API}/query/", callback=query)
        catalog = _connector(10).refresh_catalog()
    assert [f.id for f in catalog.fields] == ["Priority", "Baton_Handoff_Id__c", "RecordTypeId"]
    priority = catalog.fields[0]
    assert [o.value for o in priority.options] == ["High"]
    assert catalog.group("Tier 1 Support") is not None
    user = catalog.user("maya@acme.example")
    assert user is not None
    assert user.id == "0051"


# ---- published CaseComments and CaseHistory -----------------------------------------------

CASE_A, CASE_B = "5005g00000000A1AAA", "5005g00000000B2AAA"  # ids differ in their first 15
QUEUE_1, QUEUE_2 = "00G5g0000000001AAA", "00G5g0000000002AAA"


def _at(seconds: int) -> str:
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _status(case_id: str, old: str, new: str, seconds: int) -> dict[str, Any]:
    return {
        "CaseId": case_id,
        "Field": "Status",
        "OldValue": old,
        "NewValue": new,
        "CreatedDate": _at(seconds),
    }


def _owner(case_id: str, old: str, new: str, seconds: int) -> list[dict[str, Any]]:
    """Salesforce's two rows for one owner change: the ids, then the names."""
    names = {QUEUE_1: "Tier 1", QUEUE_2: "Tier 2"}
    ids = {"CaseId": case_id, "Field": "Owner", "OldValue": old, "NewValue": new}
    text = {**ids, "OldValue": names.get(old, "Someone"), "NewValue": names[new]}
    return [{**ids, "CreatedDate": _at(seconds)}, {**text, "CreatedDate": _at(seconds)}]


def _comment(case_id: str, seconds: int) -> dict[str, Any]:
    return {"ParentId": case_id, "CreatedDate": _at(seconds)}


def _cases_at_base() -> list[dict[str, Any]]:
    cases = [_case(n, BASE + timedelta(hours=1)) for n in range(2)]
    for case, case_id in zip(cases, (CASE_A, CASE_B), strict=True):
        case.update(Id=case_id, CreatedDate=_at(0))
    return cases


def test_first_response_and_replies_come_from_published_comments() -> None:
    case = {"Id": CASE_A, "CreatedDate": _at(0)}
    comments = [_comment(CASE_A, 120), _comment(CASE_A, 900)]
    got = activity_of(case, comments, [], frozenset({"closed"}))
    assert got == CaseActivity(first_response_seconds=120, public_replies=2)
    assert activity_of(case, [], [], frozenset()) == CaseActivity(public_replies=0)


def test_reopens_count_closed_to_open_status_changes_only() -> None:
    closed = frozenset({"closed"})
    rows = [
        _status(CASE_A, "New", "Working", 10),  # open → open
        _status(CASE_A, "Working", "Closed", 20),
        _status(CASE_A, "Closed", "Working", 30),  # reopen 1
        _status(CASE_A, "Working", "Closed", 40),
        _status(CASE_A, "Closed", "New", 50),  # reopen 2
        _status(CASE_A, "Closed", "Closed", 60),  # not a reopen
    ]
    assert reopens(rows, closed) == 2
    assert reopens(rows[:3], frozenset()) == 0  # no closed status known: none


def test_closed_statuses_are_the_mappings_resolved_ones_and_those_seen_closed() -> None:
    reading = CaseReading.of("Baton_Handoff_Id__c", mapping().statuses, None)
    seen = [{"Status": "Closed - Duplicate", "IsClosed": True}, {"Status": "New"}]
    assert closed_statuses(reading, seen) == {"closed", "closed - duplicate"}


def test_transfers_count_each_owner_change_once_and_none_at_creation() -> None:
    created = BASE
    at_insert = _owner(CASE_A, "0055g0000000009AAA", QUEUE_1, 0)  # assignment at insert
    at_insert[1]["OldValue"] = "Integration"
    moves = _owner(CASE_A, QUEUE_1, QUEUE_2, 60) + _owner(CASE_A, QUEUE_2, QUEUE_1, 120)
    assert transfers(at_insert + moves, created) == 2
    names_only = [r for r in moves if not r["NewValue"].startswith("00G")]
    assert transfers(names_only, created) == 2  # one per change time


def test_a_sync_page_reads_replies_reopens_and_transfers_in_two_more_queries() -> None:
    a, b = _cases_at_base()
    b["OwnerId"] = QUEUE_2
    history = [
        _status(CASE_A, "New", "Closed", 300),
        _status(CASE_A, "Closed", "Working", 600),
        *_owner(CASE_B, QUEUE_1, QUEUE_2, 400),
    ]
    org = FakeOrg([a, b], 10, comments=[_comment(CASE_A, 120)], history=history)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _serve(rsps, org)
        pages = list(_connector(100).changes(None, since=BASE))
    got = {d.ticket_id: d for p in pages for d in p.dispositions}
    assert len(org.activity_queries) == 2  # one CaseComment and one CaseHistory query a page
    reopened, moved = got[CASE_A], got[CASE_B]
    assert (reopened.outcome, reopened.reopen_count, reopened.transfer_count) == ("reopened", 1, 0)
    assert (reopened.first_response_seconds, reopened.public_replies) == (120, 1)
    assert (moved.outcome, moved.reopen_count, moved.transfer_count) == ("transferred", 0, 1)
    assert (moved.first_response_seconds, moved.public_replies) == (None, 0)


def test_a_closed_case_stays_resolved_whatever_its_history() -> None:
    (case, _b) = _cases_at_base()
    case.update(Status="Closed", IsClosed=True, ClosedDate=_at(900))
    history = [
        _status(CASE_A, "New", "Closed", 300),
        _status(CASE_A, "Closed", "Working", 600),
        _status(CASE_A, "Working", "Closed", 900),
    ]
    org = FakeOrg([case], 10, history=history)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _serve(rsps, org)
        pages = list(_connector(100).changes(None, since=BASE))
    (got,) = [d for p in pages for d in p.dispositions]
    assert (got.outcome, got.reopen_count, got.resolution_seconds) == ("resolved", 1, 900)


def test_without_field_history_tracking_the_sync_still_works_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cases = _cases_at_base()
    org = FakeOrg(cases, 1, comments=[_comment(CASE_B, 60)], history=None)
    connector = _connector(1)  # one case a page: CaseHistory is refused once, then not asked
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
        caplog.at_level(logging.WARNING),
    ):
        _serve(rsps, org)
        pages = list(connector.changes(None, since=BASE))
        again = list(connector.changes(None, since=BASE))
    got = {d.ticket_id: d for p in pages for d in p.dispositions}
    assert {d.outcome for d in got.values()} == {"open"}
    assert [d.reopen_count + d.transfer_count for d in got.values()] == [0, 0]
    assert got[CASE_B].first_response_seconds == 60
    assert len([d for p in again for d in p.dispositions]) == 2
    history_asks = [q for q in org.activity_queries if "CaseHistory" in q]
    assert len(history_asks) == 2  # once per run, not once per page
    warnings = [r for r in caplog.records if "Field History Tracking" in r.getMessage()]
    assert len(warnings) == 1


def test_activity_queries_batch_ids_and_refuse_anything_else() -> None:
    ids = [CASE_A, CASE_B]
    assert published_comments_query(ids) == (
        "SELECT Id, ParentId, CommentBody, CreatedDate, CreatedBy.Name, CreatedBy.UserType, "  # noqa: S608
        "CreatedBy.Username FROM CaseComment WHERE ParentId IN "
        f"('{CASE_A}', '{CASE_B}') AND IsPublished = true ORDER BY CreatedDate"
    )
    assert history_query(ids).endswith(
        f"WHERE CaseId IN ('{CASE_A}', '{CASE_B}') AND Field IN ('Status', 'Owner') "
        "ORDER BY CreatedDate"
    )
    with pytest.raises(ValueError, match="Salesforce ids"):
        history_query(["5005g' OR Id != '"])
    with pytest.raises(ValueError, match="Salesforce ids"):
        history_query([])


def test_deleted_window_follows_the_orgs_clock_and_latest_date_covered() -> None:
    """A client clock behind the org's would end the window before the org's deletions: the
    window reaches a minute past the newest SystemModstamp read, and the next one starts at
    the answer's latestDateCovered."""
    late = NOW + timedelta(days=2)
    org = FakeOrg([_case(1, late)], 10)
    covered = late + timedelta(seconds=30)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _serve(rsps, org)
        rsps.replace(
            responses.GET,
            re.compile(rf"{re.escape(API)}/sobjects/Case/deleted/.*"),
            json={
                "deletedRecords": [],
                "earliestDateAvailable": None,
                "latestDateCovered": covered.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            },
        )
        pages = list(_connector(100).changes(None, since=NOW - timedelta(hours=1)))
        deleted_call = next(c for c in rsps.calls if "/deleted/" in c.request.url)
    query = parse_qs(urlsplit(deleted_call.request.url).query)
    assert query["end"] == [soql_datetime(late + timedelta(minutes=1))]
    assert SyncCursor.decode(pages[-1].cursor, NOW).deleted_until == covered
