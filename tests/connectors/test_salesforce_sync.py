"""connectors.salesforce sync against ``responses``: the keyset boundary on (SystemModstamp, Id)
with ties, ``nextRecordsUrl`` paging (S1, S4), deletions from ``deleted/``, the catalog from
describe and SOQL, and the Case → Disposition reading shared with Outbound Messages."""

from __future__ import annotations

import functools
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.connectors.salesforce.connector import SalesforceConnector
from baton.connectors.salesforce.sync import SyncCursor, soql_datetime
from baton.connectors.salesforce.values import CaseReading, case_disposition, csat_value
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

    def __init__(self, cases: list[dict[str, Any]], batch: int) -> None:
        self.cases = sorted(cases, key=lambda c: (c["SystemModstamp"], c["Id"]))
        self.batch = batch
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.counter = itertools.count()

    def query(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        soql = parse_qs(urlsplit(request.url).query)["q"][0]
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
    assert one.csat == 0.8


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
