"""The sandbox's CaseHistory (Field History Tracking on Status and Owner) and the published
CaseComment reads a sync page makes, through SOQL over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from baton.core.catalog import load_catalog
from baton.sandbox.clock import ManualClock
from baton.sandbox.salesforce import SalesforceSandbox, SalesforceState, parse

CATALOG = Path(__file__).parents[2] / "mappings" / "catalogs" / "salesforce.json"
DATA = "/services/data/v61.0"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HISTORY = (
    "SELECT CaseId, Field, OldValue, NewValue, CreatedDate FROM CaseHistory "
    "WHERE CaseId IN ({ids}) AND Field IN ('Status', 'Owner') ORDER BY CreatedDate"
)
COMMENTS = (
    "SELECT ParentId, CreatedDate FROM CaseComment WHERE ParentId IN ({ids}) "
    "AND IsPublished = true ORDER BY CreatedDate"
)

Served = tuple[SalesforceState, ManualClock, str, requests.Session]


def _serve(tracked: tuple[str, ...] | None = None) -> Iterator[Served]:
    clock = ManualClock(T0)
    options: dict[str, Any] = {} if tracked is None else {"tracked_fields": tracked}
    state = SalesforceState.from_catalog(load_catalog(CATALOG), clock=clock, **options)
    with SalesforceSandbox(state) as sandbox:
        token = requests.post(
            f"{sandbox.base_url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(state.client_id, state.client_secret),
            timeout=5,
        ).json()["access_token"]
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        yield state, clock, sandbox.base_url, api


@pytest.fixture
def served() -> Iterator[Served]:
    yield from _serve()


@pytest.fixture
def untracked() -> Iterator[Served]:
    yield from _serve(tracked=())


def _query(base: str, api: requests.Session, text: str) -> requests.Response:
    return api.get(f"{base}{DATA}/query", params={"q": text}, timeout=5)


def _records(base: str, api: requests.Session, text: str) -> list[dict[str, Any]]:
    answer = _query(base, api, text)
    assert answer.status_code == 200, answer.text
    return [{k: v for k, v in row.items() if k != "attributes"} for row in answer.json()["records"]]


def _new_case(base: str, api: requests.Session, **values: Any) -> str:
    answer = api.post(f"{base}{DATA}/sobjects/Case", json={"Subject": "s", **values}, timeout=5)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _ids(*case_ids: str) -> str:
    return ", ".join(f"'{i}'" for i in case_ids)


def test_the_sync_pages_queries_are_supported_shapes() -> None:
    parse(HISTORY.format(ids="'500000000000001AAA'"))
    parse(COMMENTS.format(ids="'500000000000001AAA'"))


def test_status_and_owner_changes_write_history_rows(served: Served) -> None:
    state, clock, base, api = served
    case_id = _new_case(base, api)
    queues = sorted(str(g["Id"]) for g in state.records["Group"].values())
    clock.advance(60)
    patched = api.patch(
        f"{base}{DATA}/sobjects/Case/{case_id}",
        json={"Status": "Closed"},
        headers={"Sforce-Auto-Assign": "FALSE"},
        timeout=5,
    )
    assert patched.status_code == 204
    clock.advance(60)
    state.reopen(case_id)  # an agent, in the UI: Closed → Working
    clock.advance(60)
    state.transfer(case_id, queues[1])
    clock.advance(60)
    state.transfer(case_id, queues[1])  # the same owner again: no change, no row
    owner_name = state.records["Group"][queues[1][:15]]["Name"]
    user = state.record("User", state.api_user)
    assert user is not None

    rows = _records(base, api, HISTORY.format(ids=_ids(case_id)))

    assert [(r["Field"], r["OldValue"], r["NewValue"]) for r in rows] == [
        ("Status", "New", "Closed"),
        ("Status", "Closed", "Working"),
        ("Owner", state.api_user, queues[1]),  # the ids ...
        ("Owner", user["Name"], owner_name),  # ... and the names, one change
    ]
    assert [r["CreatedDate"][:19] for r in rows] == [
        "2026-03-02T09:01:00",
        "2026-03-02T09:02:00",
        "2026-03-02T09:03:00",
        "2026-03-02T09:03:00",
    ]
    assert {r["CaseId"] for r in rows} == {case_id}
    only_created = f"SELECT Field FROM CaseHistory WHERE CaseId = '{case_id}' AND Field = 'created'"  # noqa: S608
    created = _records(base, api, only_created)
    assert created == [{"Field": "created"}]


def test_history_is_per_case_and_leaves_with_a_deleted_case(served: Served) -> None:
    state, clock, base, api = served
    one, two = _new_case(base, api), _new_case(base, api)
    clock.advance(5)
    state.set_status(one, "Closed")
    state.set_status(two, "Working")
    assert len(_records(base, api, HISTORY.format(ids=_ids(one)))) == 1
    assert len(_records(base, api, HISTORY.format(ids=_ids(one, two)))) == 2
    state.delete(one)
    assert _records(base, api, HISTORY.format(ids=_ids(one))) == []


def test_without_field_history_tracking_no_rows_are_written(untracked: Served) -> None:
    state, _clock, base, api = untracked
    case_id = _new_case(base, api)
    state.set_status(case_id, "Closed")
    every_row = f"SELECT Id FROM CaseHistory WHERE CaseId = '{case_id}'"  # noqa: S608
    assert _records(base, api, every_row) == []


def test_case_history_is_read_only(served: Served) -> None:
    _state, _clock, base, api = served
    answer = api.post(f"{base}{DATA}/sobjects/CaseHistory", json={"Field": "Status"}, timeout=5)
    assert answer.status_code == 404


def test_published_comments_by_parent_oldest_first(served: Served) -> None:
    state, clock, base, api = served
    one, two = _new_case(base, api), _new_case(base, api)
    note = {"ParentId": one, "CommentBody": "Baton's note", "IsPublished": False}
    assert api.post(f"{base}{DATA}/sobjects/CaseComment", json=note, timeout=5).status_code == 201
    clock.advance(120)
    state.comment(two, "second case first", public=True)
    clock.advance(60)
    state.comment(one, "Looking into it now.", public=True)
    state.comment(one, "internal", public=False)

    rows = _records(base, api, COMMENTS.format(ids=_ids(one, two)))

    assert [(r["ParentId"], r["CreatedDate"][:19]) for r in rows] == [
        (two, "2026-03-02T09:02:00"),
        (one, "2026-03-02T09:03:00"),
    ]
