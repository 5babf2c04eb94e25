"""The sandbox's SOQL: the shapes it accepts, the ones it refuses (never a 500), and paging
with ties on SystemModstamp ordered by Id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton.core.catalog import load_catalog
from baton.sandbox.clock import ManualClock
from baton.sandbox.salesforce import SalesforceSandbox, SalesforceState, SoqlError, parse

CATALOG = Path(__file__).parents[2] / "mappings" / "catalogs" / "salesforce.json"
DATA = "/services/data/v61.0"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT Id FROM Case",
        "select id, status from case where systemmodstamp > 2024-01-02T03:04:05Z",
        "SELECT Id FROM Case WHERE SystemModstamp >= 2024-01-02T03:04:05.123+02:00 "
        "ORDER BY SystemModstamp, Id LIMIT 200",
        "SELECT Id, Name FROM Group WHERE Type = 'Queue'",
        "SELECT Id FROM User WHERE IsActive = true",
        "SELECT Id FROM CaseComment WHERE ParentId IN ('500000000000001AAA', 'x')",
        "SELECT Id FROM Case WHERE (Status = 'New' OR Status = 'Working') AND IsClosed = false",
        "SELECT Id FROM Case WHERE ClosedDate != null ORDER BY Id DESC NULLS LAST",
        "SELECT Id FROM Case WHERE Subject = 'it\\'s'",
        "SELECT Id FROM Case WHERE Status NOT IN ('Closed')",
    ],
)
def test_supported_shapes_parse(text: str) -> None:
    assert parse(text).fields


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT FROM Case",
        "SELECT Id Case",
        "SELECT COUNT() FROM Case",
        "SELECT Owner..Name FROM Case",
        "SELECT Id FROM Case WHERE Status = 'a' AND Status = 'b' OR Status = 'c'",
        "SELECT Id FROM Case WHERE Subject LIKE 'a%'",
        "SELECT Id FROM Case LIMIT -1",
        "SELECT Id FROM Case LIMIT 1.5",
        "SELECT Id FROM Case WHERE Subject = 'unterminated",
        "SELECT Id FROM Case WHERE Subject = 'bad \\q escape'",
        "SELECT Id FROM Case GROUP BY Status",
        "SELECT Id FROM Case WHERE NOT Status = 'New'",
        "SELECT Id FROM Case ORDER BY",
        "SELECT Id FROM Case; DELETE",
    ],
)
def test_unsupported_shapes_are_refused(text: str) -> None:
    with pytest.raises(SoqlError):
        parse(text)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SalesforceState, str, requests.Session]]:
    state = SalesforceState.from_catalog(load_catalog(CATALOG), clock=ManualClock(T0))
    with SalesforceSandbox(state) as sandbox:
        token = requests.post(
            f"{sandbox.base_url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(state.client_id, state.client_secret),
            timeout=5,
        ).json()["access_token"]
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        yield state, sandbox.base_url, api


def _query(base: str, api: requests.Session, text: str, **headers: str) -> requests.Response:
    return api.get(f"{base}{DATA}/query", params={"q": text}, headers=headers, timeout=5)


def test_errors_are_salesforce_error_arrays(served: Any) -> None:
    _, base, api = served
    cases = [
        ("SELECT Id FROM Case WHERE", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Case", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Id FROM Case WHERE SystemModstamp > '2024-01-02T03:04:05Z'", "INVALID_FIELD"),
        ("SELECT Nope.Name FROM CaseComment", "INVALID_FIELD"),  # no such relationship
        ("SELECT CreatedBy.Nope FROM CaseComment", "INVALID_FIELD"),
        ("SELECT CreatedBy.Manager.Name FROM CaseComment", "INVALID_FIELD"),  # one level here
    ]
    for text, code in cases:
        answer = _query(base, api, text)
        assert answer.status_code == 400, text
        assert answer.json()[0]["errorCode"] == code, text


def test_queues_and_active_users(served: Any) -> None:
    _, base, api = served
    queues = _query(base, api, "SELECT Id, Name FROM Group WHERE Type = 'Queue'").json()
    assert queues["totalSize"] == 9
    assert queues["records"][0]["attributes"]["type"] == "Group"
    users = _query(base, api, "SELECT Name FROM User WHERE IsActive = true").json()
    assert "Maya Okafor" in {u["Name"] for u in users["records"]}


def test_a_parent_relationship_is_selected_nested_and_filtered_on(served: Any) -> None:
    state, base, api = served
    case = state.create_case({"Subject": "relations"})
    portal = state.add_user(None, "Carla Customer", None, "carla@example.com", "CSPLitePortal")
    state.create_comment({"ParentId": case["id"], "CommentBody": "by the api user"})
    state.create_comment({"ParentId": case["id"], "CommentBody": "by a customer"}, portal)
    text = (
        "SELECT CommentBody, CreatedBy.Name, createdby.usertype FROM CaseComment "  # noqa: S608
        f"WHERE ParentId = '{case['id']}' AND CreatedBy.UserType = 'Standard'"
    )
    answer = _query(base, api, text)
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["records"]
    assert row["CommentBody"] == "by the api user"
    author = row["CreatedBy"]
    assert author["attributes"]["type"] == "User"
    assert author["attributes"]["url"].endswith(f"/sobjects/User/{state.api_user}")
    assert (author["Name"], author["UserType"]) == ("Baton Integration", "Standard")
    owner = f"SELECT Owner.Name FROM Case WHERE Id = '{case['id']}'"  # noqa: S608
    assert set(_query(base, api, owner).json()["records"][0]) == {"attributes", "Owner"}
    state.delete_case(case["id"])  # the module's org is shared: leave it as found


def test_paging_with_ties_on_system_modstamp_orders_by_id(served: Any) -> None:
    state, base, api = served
    with state.lock:
        for i in range(450):
            state.create_case({"Subject": f"tie {i}"})  # one instant: every stamp ties
        state.take_changes()
    text = (
        "SELECT Id, SystemModstamp FROM Case WHERE SystemModstamp >= 2026-03-02T09:00:00Z "
        "ORDER BY SystemModstamp, Id"
    )
    page = _query(base, api, text, **{"Sforce-Query-Options": "batchSize=200"}).json()
    assert page["totalSize"] == 450
    assert page["done"] is False
    ids = [r["Id"] for r in page["records"]]
    pages = 1
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith(f"{DATA}/query/01g")
        page = api.get(base + page["nextRecordsUrl"], timeout=5).json()
        ids += [r["Id"] for r in page["records"]]
        pages += 1
    assert pages == 3
    assert ids == sorted(ids)
    assert len(set(ids)) == 450
    later = _query(base, api, "SELECT Id FROM Case WHERE SystemModstamp > 2026-03-02T09:00:00Z")
    assert later.json()["totalSize"] == 0


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.sampled_from(list("SELECTFROMWHEREIdCase(),'=<>! 0123456789-:TZ.\\aNDOR")),
        max_size=80,
    )
    | st.text(max_size=60)
)
def test_random_queries_never_answer_500(served: Any, text: str) -> None:
    _, base, api = served
    answer = _query(base, api, "SELECT Id FROM Case WHERE " + text)  # noqa: S608
    assert answer.status_code in (200, 400)
    if answer.status_code == 400:
        assert answer.json()[0]["errorCode"] in ("MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE")
