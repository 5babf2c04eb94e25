"""The Zendesk sandbox, driven by the real zenpy client and plain requests."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request, Response
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, CustomField, Ticket, User
from zenpy.lib.exception import APIException, RecordNotFoundException

from baton.core.catalog import Catalog, CatalogField, Entity, Option
from baton.sandbox.faults import Fault
from baton.sandbox.server import RunningServer, ZendeskSandbox, serve_in_thread
from baton.sandbox.signing import zendesk_signature
from baton.sandbox.zendesk import ManualClock, WebhookTarget, ZendeskState

TIMEOUT = 5

REASON_FIELD = 360_001
NOTES_FIELD = 360_002
TIER1, TIER2 = 100, 200
ADA, BOB = 501, 502


@pytest.fixture
def catalog() -> Catalog:
    """A small Zendesk catalog: one dropdown, one text field, two groups, two agents."""
    return Catalog(
        platform="zendesk",
        fields=[
            CatalogField(
                id=REASON_FIELD,
                name="Handoff reason",
                type="tagger",
                options=[
                    Option(name="Billing", value="reason_billing"),
                    Option(name="Bug", value="reason_bug"),
                ],
            ),
            CatalogField(id=NOTES_FIELD, name="Agent notes", type="text"),
        ],
        groups=[Entity(id=TIER1, name="Tier 1"), Entity(id=TIER2, name="Tier 2")],
        users=[
            Entity(id=ADA, name="Ada Agent", email="ada@example.com"),
            Entity(id=BOB, name="Bob Agent", email="bob@example.com"),
        ],
    )


@pytest.fixture
def clock() -> ManualClock:
    """The sandbox clock, moved by hand."""
    return ManualClock()


@pytest.fixture
def state(catalog: Catalog, clock: ManualClock) -> ZendeskState:
    """A seeded state; webhook retries are sped up 1000×."""
    return ZendeskState.from_catalog(catalog, clock=clock, time_factor=1000.0)


@pytest.fixture
def sandbox(state: ZendeskState) -> Iterator[ZendeskSandbox]:
    """The state served on a free local port."""
    with ZendeskSandbox(state) as running:
        yield running


@pytest.fixture
def zenpy_client(sandbox: ZendeskSandbox, monkeypatch: pytest.MonkeyPatch) -> Zenpy:
    """The real zenpy client pointed at the sandbox."""
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", sandbox.netloc)
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    return Zenpy(**sandbox.credentials, disable_cache=True)


def _session(sandbox: ZendeskSandbox) -> requests.Session:
    session = requests.Session()
    creds = sandbox.credentials
    session.auth = (f"{creds['email']}/token", creds["token"])
    return session


def _ticket(**extra: Any) -> dict[str, Any]:
    body = {
        "subject": "Refund not received",
        "comment": {"body": "The customer waited 10 days.", "public": True},
        "requester": {"name": "Carol Customer", "email": "carol@example.com"},
    }
    return {"ticket": body | extra}


def _create(session: requests.Session, sandbox: ZendeskSandbox, **extra: Any) -> dict[str, Any]:
    response = session.post(
        f"{sandbox.base_url}/api/v2/tickets.json", json=_ticket(**extra), timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


# ------------------------------------------------------------------------------ signing


def test_signature_known_answer_vector() -> None:
    signature = zendesk_signature(
        "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==",
        "2021-03-25T05:09:27Z",
        b'{"event":"ticket.updated","id":123}',
    )
    assert signature == "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM="


# ------------------------------------------------------------------------------ auth


def test_wrong_token_is_401_with_zendesk_body(sandbox: ZendeskSandbox) -> None:
    response = requests.get(
        f"{sandbox.base_url}/api/v2/tickets.json",
        auth=(f"{sandbox.credentials['email']}/token", "wrong"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}


def test_zenpy_with_wrong_token_raises(
    sandbox: ZendeskSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", sandbox.netloc)
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    client = Zenpy(**(sandbox.credentials | {"token": "nope"}), disable_cache=True)
    with pytest.raises(APIException) as info:
        client.tickets.create(Ticket(subject="x", comment=Comment(body="y")))
    assert info.value.response.status_code == 401


# ------------------------------------------------------------------------------ create


def test_zenpy_create_with_every_field_and_read_back(zenpy_client: Zenpy) -> None:
    audit = zenpy_client.tickets.create(
        Ticket(
            subject="Printer on fire",
            comment=Comment(body="Escalated by the AI agent.", public=True),
            requester=User(name="Carol Customer", email="carol@example.com"),
            priority="urgent",
            type="incident",
            tags=["Baton", "handoff ai"],
            group_id=TIER1,
            assignee_id=ADA,
            custom_fields=[
                CustomField(id=REASON_FIELD, value="reason_billing"),
                CustomField(id=NOTES_FIELD, value="VIP"),
            ],
            external_id="handoff-1",
        )
    )
    created = audit.ticket
    assert created.id > 0
    assert created.status == "open"  # an assignee opens a new ticket
    assert created.url.endswith(f"/api/v2/tickets/{created.id}.json")
    assert created.url.startswith("http://127.0.0.1:")

    ticket = zenpy_client.tickets(id=created.id)
    assert ticket.subject == "Printer on fire"
    assert ticket.description == "Escalated by the AI agent."
    assert (ticket.priority, ticket.type) == ("urgent", "incident")
    assert (ticket.group_id, ticket.assignee_id) == (TIER1, ADA)
    assert ticket.external_id == "handoff-1"
    assert ticket.tags == ["baton", "handoff", "ai", "reason_billing"]
    fields = {f["id"]: f["value"] for f in ticket.custom_fields}
    assert fields == {REASON_FIELD: "reason_billing", NOTES_FIELD: "VIP"}
    requester = zenpy_client.users(id=ticket.requester_id)
    assert (requester.email, requester.role) == ("carol@example.com", "end-user")
    assert ticket.created_at.endswith("Z")


def test_create_returns_audit_with_metadata_and_reuses_requester(sandbox: ZendeskSandbox) -> None:
    session = _session(sandbox)
    url = f"{sandbox.base_url}/api/v2/tickets.json"
    first = session.post(url, json=_ticket(metadata={"handoff": "h1"}), timeout=TIMEOUT).json()
    second = session.post(url, json=_ticket(), timeout=TIMEOUT).json()
    assert first["audit"]["metadata"]["custom"] == {"handoff": "h1"}
    assert first["audit"]["events"][0]["type"] == "Comment"
    assert first["ticket"]["status"] == "new"
    assert first["ticket"]["requester_id"] == second["ticket"]["requester_id"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"priority": "critical"}, "priority"),
        ({"type": "bug"}, "type"),
        ({"status": "closed"}, "status"),
        ({"group_id": 999}, "group_id"),
        ({"assignee_id": 424242}, "assignee_id"),
        ({"custom_fields": [{"id": 111, "value": "x"}]}, "base"),
        ({"custom_fields": [{"id": REASON_FIELD, "value": "reason_nope"}]}, "base"),
        ({"comment": {"body": "   "}}, "base"),
        ({"comment": None}, "base"),
        ({"requester": {"name": "No Email"}}, "requester"),
    ],
)
def test_invalid_create_is_422_record_invalid(
    sandbox: ZendeskSandbox, state: ZendeskState, extra: dict[str, Any], field: str
) -> None:
    response = _session(sandbox).post(
        f"{sandbox.base_url}/api/v2/tickets.json", json=_ticket(**extra), timeout=TIMEOUT
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "RecordInvalid"
    assert body["description"] == "Record validation errors"
    assert field in body["details"]
    assert all("description" in entry for entry in body["details"][field])
    assert state.tickets == {}


def test_missing_comment_uses_zendesk_blank_description(sandbox: ZendeskSandbox) -> None:
    payload = {"ticket": {"subject": "no description"}}
    response = _session(sandbox).post(
        f"{sandbox.base_url}/api/v2/tickets.json", json=payload, timeout=TIMEOUT
    )
    assert response.status_code == 422
    assert response.json()["details"]["base"][0] == {
        "description": "Description: cannot be blank",
        "error": "BlankValue",
    }


def test_assignee_must_be_member_of_group(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    state.set_group_members(TIER2, [BOB])
    session = _session(sandbox)
    url = f"{sandbox.base_url}/api/v2/tickets.json"
    bad = session.post(url, json=_ticket(group_id=TIER2, assignee_id=ADA), timeout=TIMEOUT)
    good = session.post(url, json=_ticket(group_id=TIER2, assignee_id=BOB), timeout=TIMEOUT)
    assert bad.status_code == 422
    assert "assignee_id" in bad.json()["details"]
    assert good.status_code == 201


def test_unknown_ticket_is_record_not_found(zenpy_client: Zenpy) -> None:
    with pytest.raises(RecordNotFoundException):
        zenpy_client.tickets(id=123456)


# ------------------------------------------------------------------------------ update


def test_internal_note_is_not_public(zenpy_client: Zenpy) -> None:
    ticket = zenpy_client.tickets.create(
        Ticket(subject="s", comment=Comment(body="first", public=True))
    ).ticket
    ticket.comment = Comment(body="for agents only", public=False)
    zenpy_client.tickets.update(ticket)
    comments = list(zenpy_client.tickets.comments(ticket=ticket.id))
    assert [(c.body, c.public) for c in comments] == [
        ("first", True),
        ("for agents only", False),
    ]


def test_update_replaces_tags_and_reassigns(sandbox: ZendeskSandbox) -> None:
    session = _session(sandbox)
    ticket = _create(session, sandbox, tags=["one", "two"])
    url = f"{sandbox.base_url}/api/v2/tickets/{ticket['id']}.json"
    update = {"ticket": {"tags": ["Three"], "group_id": TIER2, "assignee_id": BOB}}
    response = session.put(url, json=update, timeout=TIMEOUT)
    assert response.status_code == 200
    updated = response.json()["ticket"]
    assert (updated["tags"], updated["group_id"], updated["assignee_id"]) == (["three"], TIER2, BOB)
    assert updated["status"] == "open"


def test_closed_ticket_cannot_be_updated(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    session = _session(sandbox)
    ticket = _create(session, sandbox)
    state.solve(ticket["id"])
    state.close(ticket["id"])
    response = session.put(
        f"{sandbox.base_url}/api/v2/tickets/{ticket['id']}.json",
        json={"ticket": {"comment": {"body": "late"}}},
        timeout=TIMEOUT,
    )
    assert response.status_code == 422
    assert response.json()["details"]["status"][0]["description"] == (
        "Status: closed prevents ticket update"
    )


# ------------------------------------------------------------------------------ idempotency


def test_idempotency_key_miss_then_hit_then_conflict(
    sandbox: ZendeskSandbox, state: ZendeskState
) -> None:
    session = _session(sandbox)
    url = f"{sandbox.base_url}/api/v2/tickets.json"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = session.post(url, json=_ticket(), headers=key, timeout=TIMEOUT)
    again = session.post(url, json=_ticket(), headers=key, timeout=TIMEOUT)
    other = session.post(url, json=_ticket(subject="other"), headers=key, timeout=TIMEOUT)

    assert (first.status_code, first.headers["x-idempotency-lookup"]) == (201, "miss")
    assert (again.status_code, again.headers["x-idempotency-lookup"]) == (201, "hit")
    assert again.json()["ticket"]["id"] == first.json()["ticket"]["id"]
    assert other.status_code == 400
    assert other.json()["error"] == "IdempotentRequestError"
    assert len(state.tickets) == 1


def test_idempotency_key_expires(
    sandbox: ZendeskSandbox, state: ZendeskState, clock: ManualClock
) -> None:
    session = _session(sandbox)
    url = f"{sandbox.base_url}/api/v2/tickets.json"
    key = {"Idempotency-Key": "k-1"}
    first = session.post(url, json=_ticket(), headers=key, timeout=TIMEOUT).json()
    clock.advance(state.idempotency_ttl + 1)
    later = session.post(url, json=_ticket(), headers=key, timeout=TIMEOUT)
    assert later.headers["x-idempotency-lookup"] == "miss"
    assert later.json()["ticket"]["id"] != first["ticket"]["id"]


# ------------------------------------------------------------------------------ listing


def test_list_by_external_id_with_zenpy(zenpy_client: Zenpy, sandbox: ZendeskSandbox) -> None:
    session = _session(sandbox)
    wanted = {_create(session, sandbox, external_id="h-42")["id"] for _ in range(2)}
    _create(session, sandbox, external_id="h-other")
    found = {t.id for t in zenpy_client.tickets(external_id="h-42")}
    assert found == wanted


def test_offset_pagination_next_page_is_absolute(sandbox: ZendeskSandbox) -> None:
    session = _session(sandbox)
    for _ in range(3):
        _create(session, sandbox, external_id="same")
    url = f"{sandbox.base_url}/api/v2/tickets.json"
    page = session.get(url, params={"external_id": "same", "per_page": 2}, timeout=TIMEOUT).json()
    assert (len(page["tickets"]), page["count"]) == (2, 3)
    assert page["next_page"].startswith(sandbox.base_url)
    rest = session.get(page["next_page"], timeout=TIMEOUT).json()
    assert len(rest["tickets"]) == 1
    assert rest["next_page"] is None
    too_big = session.get(url, params={"per_page": 101}, timeout=TIMEOUT)
    assert too_big.status_code == 400


def test_metadata_endpoints(zenpy_client: Zenpy, sandbox: ZendeskSandbox) -> None:
    assert {g.id for g in zenpy_client.groups()} == {TIER1, TIER2}
    fields = {f.id: f for f in zenpy_client.ticket_fields()}
    assert [o.value for o in fields[REASON_FIELD].custom_field_options] == [
        "reason_billing",
        "reason_bug",
    ]
    session = _session(sandbox)
    agents = session.get(
        f"{sandbox.base_url}/api/v2/users.json", params={"role": "agent"}, timeout=TIMEOUT
    ).json()["users"]
    assert {u["id"] for u in agents} == {ADA, BOB}
    found = session.get(
        f"{sandbox.base_url}/api/v2/users/search.json",
        params={"query": "bob@example.com"},
        timeout=TIMEOUT,
    ).json()["users"]
    assert [u["id"] for u in found] == [BOB]


# ------------------------------------------------------------------------------ bulk


def test_create_many_and_job_status(zenpy_client: Zenpy, sandbox: ZendeskSandbox) -> None:
    job = zenpy_client.tickets.create(
        [Ticket(subject=f"bulk {i}", comment=Comment(body="b")) for i in range(3)]
    )
    assert job.status == "queued"
    assert job.url.startswith(sandbox.base_url)
    done = zenpy_client.job_status(id=job.id)
    assert done.status == "completed"
    results = sorted(done.results, key=lambda r: r.index)
    assert [r.index for r in results] == [0, 1, 2]
    for result in results:
        assert zenpy_client.tickets(id=result.id).subject.startswith("bulk")


def test_create_many_over_100_is_rejected(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    tickets = [_ticket()["ticket"] for _ in range(101)]
    response = _session(sandbox).post(
        f"{sandbox.base_url}/api/v2/tickets/create_many.json",
        json={"tickets": tickets},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert state.tickets == {}


# ------------------------------------------------------------------------------ incremental


def _export(session: requests.Session, url: str, **params: Any) -> dict[str, Any]:
    response = session.get(url, params=params, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_incremental_cursor_pages_and_updates_reappear(
    sandbox: ZendeskSandbox, state: ZendeskState, clock: ManualClock
) -> None:
    session = _session(sandbox)
    start = int(clock().timestamp()) - 1
    ids = [_create(session, sandbox)["id"] for _ in range(5)]
    clock.advance(120)
    url = f"{sandbox.base_url}/api/v2/incremental/tickets/cursor.json"

    first = _export(session, url, start_time=start, per_page=2)
    assert [t["id"] for t in first["tickets"]] == ids[:2]
    assert first["end_of_stream"] is False
    assert first["after_url"].startswith(sandbox.base_url)

    state.agent_reply(ids[0], "we are on it")  # updated after it was exported
    second = _export(session, first["after_url"])
    assert [t["id"] for t in second["tickets"]] == ids[2:4]

    clock.advance(120)
    third = _export(session, url, cursor=second["after_cursor"], per_page=2)
    assert [t["id"] for t in third["tickets"]] == [ids[4], ids[0]]
    assert third["end_of_stream"] is True
    empty = _export(session, third["after_url"])
    assert (empty["tickets"], empty["end_of_stream"]) == ([], True)
    assert empty["after_cursor"] == third["after_cursor"]


def test_incremental_excludes_the_last_minute_and_shows_deleted(
    sandbox: ZendeskSandbox, state: ZendeskState, clock: ManualClock
) -> None:
    session = _session(sandbox)
    start = int(clock().timestamp()) - 1
    ticket = _create(session, sandbox)
    url = f"{sandbox.base_url}/api/v2/incremental/tickets/cursor.json"
    clock.advance(61)
    state.delete(ticket["id"])
    fresh = _create(session, sandbox)
    page = _export(session, url, start_time=start)
    assert page["tickets"] == []  # both changes are less than a minute old
    clock.advance(61)
    page = _export(session, url, start_time=start)
    statuses = {t["id"]: t["status"] for t in page["tickets"]}
    assert statuses == {ticket["id"]: "deleted", fresh["id"]: "new"}
    gone = session.get(f"{sandbox.base_url}/api/v2/tickets/{ticket['id']}.json", timeout=TIMEOUT)
    assert gone.status_code == 404


def test_incremental_rejects_too_recent_start_time_and_big_pages(
    sandbox: ZendeskSandbox, clock: ManualClock
) -> None:
    session = _session(sandbox)
    url = f"{sandbox.base_url}/api/v2/incremental/tickets/cursor.json"
    recent = session.get(url, params={"start_time": int(clock().timestamp()) - 30}, timeout=TIMEOUT)
    assert recent.status_code == 422
    assert recent.json()["description"].startswith("Too recent start_time")
    big = session.get(url, params={"start_time": 0, "per_page": 1001}, timeout=TIMEOUT)
    assert big.status_code == 400


def test_zenpy_follows_incremental_after_url(
    zenpy_client: Zenpy, sandbox: ZendeskSandbox, clock: ManualClock
) -> None:
    session = _session(sandbox)
    start = int(clock().timestamp()) - 1
    ids = [_create(session, sandbox)["id"] for _ in range(3)]
    clock.advance(120)
    seen = [t.id for t in zenpy_client.tickets.incremental(start_time=start, per_page=1)]
    assert seen == ids


# ------------------------------------------------------------------------------ metrics, CSAT


def test_metrics_follow_reply_solve_reopen(
    zenpy_client: Zenpy, sandbox: ZendeskSandbox, state: ZendeskState, clock: ManualClock
) -> None:
    ticket = _create(_session(sandbox), sandbox, group_id=TIER1, assignee_id=ADA)
    clock.advance(5 * 60)
    state.agent_reply(ticket["id"], "Hello Carol")
    state.agent_reply(ticket["id"], "internal", public=False)
    clock.advance(10 * 60)
    state.solve(ticket["id"])
    clock.advance(60)
    state.reopen(ticket["id"])
    state.reassign(ticket["id"], group_id=TIER2, assignee_id=BOB)
    clock.advance(30 * 60)
    state.solve(ticket["id"])

    metric = zenpy_client.tickets.metrics(ticket["id"])
    assert metric.reply_time_in_minutes == {"calendar": 5, "business": 5}
    assert metric.first_resolution_time_in_minutes["calendar"] == 15
    assert metric.full_resolution_time_in_minutes["calendar"] == 46
    assert (metric.reopens, metric.replies) == (1, 1)
    assert (metric.group_stations, metric.assignee_stations) == (2, 2)
    assert metric.solved_at is not None


def test_satisfaction_ratings(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    session = _session(sandbox)
    good = _create(session, sandbox)
    bad = _create(session, sandbox)
    state.solve(good["id"])
    state.solve(bad["id"])
    state.rate(good["id"], "good", "thanks")
    state.rate(bad["id"], "bad")
    url = f"{sandbox.base_url}/api/v2/satisfaction_ratings.json"
    all_ratings = session.get(url, timeout=TIMEOUT).json()["satisfaction_ratings"]
    only_bad = session.get(url, params={"score": "bad"}, timeout=TIMEOUT).json()
    assert {(r["ticket_id"], r["score"]) for r in all_ratings} == {
        (good["id"], "good"),
        (bad["id"], "bad"),
    }
    assert [r["ticket_id"] for r in only_bad["satisfaction_ratings"]] == [bad["id"]]
    shown = session.get(f"{sandbox.base_url}/api/v2/tickets/{good['id']}.json", timeout=TIMEOUT)
    assert shown.json()["ticket"]["satisfaction_rating"]["score"] == "good"
    with pytest.raises(ValueError, match="score"):
        state.rate(good["id"], "great")


# ------------------------------------------------------------------------------ rate limit


def test_rate_limit_429_with_retry_after_and_headers(catalog: Any, clock: ManualClock) -> None:
    state = ZendeskState.from_catalog(catalog, clock=clock, rate_limit=3)
    with ZendeskSandbox(state) as sandbox:
        session = _session(sandbox)
        url = f"{sandbox.base_url}/api/v2/groups.json"
        responses = [session.get(url, timeout=TIMEOUT) for _ in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert [r.headers["X-Rate-Limit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
        assert all(r.headers["X-Rate-Limit"] == "3" for r in responses)
        limited = responses[-1]
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.text == "Number of allowed API requests per minute exceeded"
        assert (state.stats.requests, state.stats.rejections) == (4, 1)
        clock.advance(61)
        assert session.get(url, timeout=TIMEOUT).status_code == 200


# ------------------------------------------------------------------------------ faults


def test_fault_status_and_rate_limit(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    session = _session(sandbox)
    url = f"{sandbox.base_url}/api/v2/groups.json"
    state.faults.add(Fault("status", status=503, body={"error": "Unavailable"}, times=2))
    state.faults.add(Fault("rate_limit", retry_after=7))
    codes = [session.get(url, timeout=TIMEOUT) for _ in range(4)]
    assert [r.status_code for r in codes] == [503, 503, 429, 200]
    assert codes[0].json() == {"error": "Unavailable"}
    assert codes[2].headers["Retry-After"] == "7"


def test_fault_matches_method_and_path(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    session = _session(sandbox)
    state.faults.add(Fault("status", method="POST", path_regex=r"/tickets\.json$", status=500))
    groups = session.get(f"{sandbox.base_url}/api/v2/groups.json", timeout=TIMEOUT)
    create = session.post(f"{sandbox.base_url}/api/v2/tickets.json", json=_ticket(), timeout=5)
    assert (groups.status_code, create.status_code) == (200, 500)
    assert state.tickets == {}


def test_fault_latency(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    state.faults.add(Fault("latency", seconds=0.3))
    session = _session(sandbox)
    began = time.monotonic()
    response = session.get(f"{sandbox.base_url}/api/v2/groups.json", timeout=TIMEOUT)
    assert response.status_code == 200
    assert time.monotonic() - began >= 0.3
    state.faults.add(Fault("latency", seconds=0.5))
    with pytest.raises(requests.Timeout):
        session.get(f"{sandbox.base_url}/api/v2/groups.json", timeout=0.1)


def test_fault_reset_is_a_connection_error(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    state.faults.add(Fault("reset", method="POST"))
    with pytest.raises(requests.ConnectionError):
        _session(sandbox).post(
            f"{sandbox.base_url}/api/v2/tickets.json", json=_ticket(), timeout=TIMEOUT
        )
    assert state.tickets == {}


def test_drop_after_commit_applies_the_write(sandbox: ZendeskSandbox, state: ZendeskState) -> None:
    state.faults.add(Fault("drop_after_commit", method="POST"))
    session = _session(sandbox)
    url = f"{sandbox.base_url}/api/v2/tickets.json"
    key = {"Idempotency-Key": "drop-1"}
    with pytest.raises(requests.ConnectionError):
        session.post(url, json=_ticket(external_id="h-drop"), headers=key, timeout=TIMEOUT)
    assert [t.external_id for t in state.tickets.values()] == ["h-drop"]
    retry = session.post(url, json=_ticket(external_id="h-drop"), headers=key, timeout=TIMEOUT)
    assert (retry.status_code, retry.headers["x-idempotency-lookup"]) == (201, "hit")
    assert len(state.tickets) == 1


def test_latency_after_commit_applies_the_write_before_answering(
    sandbox: ZendeskSandbox, state: ZendeskState
) -> None:
    """The crash window O1 needs: the ticket exists while its creator still waits."""
    state.faults.add(Fault("latency_after_commit", method="POST", seconds=0.5))
    url = f"{sandbox.base_url}/api/v2/tickets.json"
    with pytest.raises(requests.Timeout):
        _session(sandbox).post(url, json=_ticket(external_id="h-slow"), timeout=0.2)
    assert [t.external_id for t in state.tickets.values()] == ["h-slow"]
    state.faults.add(Fault("latency_after_commit", method="GET", seconds=0.2))
    began = time.monotonic()
    answer = _session(sandbox).get(f"{sandbox.base_url}/api/v2/groups.json", timeout=TIMEOUT)
    assert answer.status_code == 200
    assert time.monotonic() - began >= 0.2


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ webhooks


class _Receiver:
    """A tiny webhook receiver that can fail its first requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.calls = 0
        self.lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/hook")(self.hook)

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                return Response(status_code=500)
            self.received.append((dict(request.headers), body))
        return Response(status_code=200)


@pytest.fixture
def receiver() -> Iterator[tuple[_Receiver, RunningServer]]:
    hook = _Receiver()
    with serve_in_thread(hook.app) as server:
        yield hook, server


def test_webhooks_are_signed_zendesk_events(
    sandbox: ZendeskSandbox, state: ZendeskState, receiver: tuple[_Receiver, RunningServer]
) -> None:
    hook, server = receiver
    secret = base64.b64encode(b"sandbox-secret").decode()
    state.webhooks.add(WebhookTarget(f"{server.base_url}/hook", secret))
    ticket = _create(_session(sandbox), sandbox, external_id="h-hook")
    state.agent_reply(ticket["id"], "hi")
    state.solve(ticket["id"])
    assert state.webhooks.wait_idle()

    events = []
    for headers, body in hook.received:
        timestamp = headers["x-zendesk-webhook-signature-timestamp"]
        assert headers["x-zendesk-webhook-signature"] == zendesk_signature(secret, timestamp, body)
        assert headers["x-zendesk-webhook-id"]
        assert headers["x-zendesk-webhook-invocation-id"]
        events.append(json.loads(body))
    types = [e["type"].removeprefix("zen:event-type:ticket.") for e in events]
    assert types[0] == "created"
    assert "comment_added" in types
    status_change = next(e for e in events if e["type"].endswith("status_changed"))
    assert status_change["event"]["current"] == "SOLVED"
    assert status_change["subject"] == f"zen:ticket:{ticket['id']}"
    assert status_change["detail"]["external_id"] == "h-hook"
    assert status_change["zendesk_event_version"] == "2022-11-06"
    assert len({e["id"] for e in events}) == len(events)


def test_webhook_delivery_retries_after_500(
    sandbox: ZendeskSandbox, state: ZendeskState, receiver: tuple[_Receiver, RunningServer]
) -> None:
    hook, server = receiver
    hook.fail_first = 1
    state.webhooks.add(WebhookTarget(f"{server.base_url}/hook", "s3cret"))
    _create(_session(sandbox), sandbox)
    assert state.webhooks.wait_idle()
    assert len(hook.received) == 1
    attempts = [(d.attempt, d.status) for d in state.webhooks.deliveries]
    assert attempts == [(1, 500), (2, 200)]
    assert len({d.invocation_id for d in state.webhooks.deliveries}) == 1


def test_webhook_duplicate_delivery_keeps_the_event_id(
    sandbox: ZendeskSandbox, state: ZendeskState, receiver: tuple[_Receiver, RunningServer]
) -> None:
    hook, server = receiver
    state.webhooks.add(WebhookTarget(f"{server.base_url}/hook", "s3cret", duplicate=True))
    _create(_session(sandbox), sandbox)
    assert state.webhooks.wait_idle()
    ids = [json.loads(body)["id"] for _, body in hook.received]
    assert len(ids) == 2
    assert ids[0] == ids[1]
    state.webhooks.redeliver(ids[0])
    assert state.webhooks.wait_idle()
    assert [json.loads(body)["id"] for _, body in hook.received] == [ids[0]] * 3


def test_webhook_gives_up_after_bounded_attempts(
    sandbox: ZendeskSandbox, state: ZendeskState
) -> None:
    state.webhooks.add(WebhookTarget("http://127.0.0.1:9/unreachable", "s3cret"))
    _create(_session(sandbox), sandbox)
    assert state.webhooks.wait_idle()
    assert len(state.webhooks.deliveries) == state.webhooks.max_attempts
    assert all(d.error for d in state.webhooks.deliveries)
