"""The Zendesk sandbox's control API (``/_sandbox/…``), driven only over HTTP.

Each sandbox is served with ``serve_in_thread``; the tests steer it through the control API
(no Zendesk credentials) and check the effect through Zendesk's own API, as a team testing its
agent against the sandbox would.
"""

from __future__ import annotations

import base64
import math
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request, Response
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.sandbox.faults import FAULT_KINDS
from baton.sandbox.server import serve_in_thread
from baton.sandbox.signing import zendesk_signature
from baton.sandbox.zendesk import ZendeskState, create_app

TIMEOUT = 5
TIER1, TIER2 = 100, 200
ADA, BOB = 501, 502
TICKETS_PATH = r"^/api/v2/tickets\.json$"


def seeded_state(**options: Any) -> ZendeskState:
    """Two groups and two agents; webhook retries sped up, the rate limit out of the way."""
    state = ZendeskState(time_factor=1000.0, **{"rate_limit": 100_000, **options})
    state.add_group(TIER1, "Tier 1")
    state.add_group(TIER2, "Tier 2")
    state.add_agent(ADA, "Ada Agent", "ada@example.com")
    state.add_agent(BOB, "Bob Agent", "bob@example.com")
    return state


@dataclass
class Served:
    """A running sandbox as its HTTP clients see it."""

    base_url: str
    api: requests.Session  # Zendesk's API, authenticated as the API user
    token: str

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        """A control API call: no credentials at all."""
        url = f"{self.base_url}/_sandbox{path}"
        return requests.request(method, url, json=body, timeout=TIMEOUT)

    def get(self, path: str, **params: Any) -> requests.Response:
        """A Zendesk API GET."""
        return self.api.get(f"{self.base_url}{path}", params=params, timeout=TIMEOUT)

    def create(self, external_id: str) -> requests.Response:
        """A Zendesk API ticket create."""
        ticket = {
            "subject": "Refund not received",
            "comment": {"body": "The customer waited 10 days."},
            "requester": {"name": "Carol Customer", "email": "carol@example.com"},
            "external_id": external_id,
        }
        return self.api.post(
            f"{self.base_url}/api/v2/tickets.json", json={"ticket": ticket}, timeout=TIMEOUT
        )

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        """A ticket as Zendesk's API shows it."""
        shown = self.get(f"/api/v2/tickets/{ticket_id}.json")
        assert shown.status_code == 200, shown.text
        ticket: dict[str, Any] = shown.json()["ticket"]
        return ticket


@contextmanager
def served(state: ZendeskState, host: str = "127.0.0.1") -> Iterator[Served]:
    """``state`` served on a free port; the server and webhook delivery stopped after."""
    server = serve_in_thread(create_app(state), host=host)
    api = requests.Session()
    api.auth = (f"{state.email}/token", state.token)
    try:
        yield Served(f"http://127.0.0.1:{server.port}", api, state.token)
    finally:
        api.close()
        server.stop()
        state.webhooks.stop()


@pytest.fixture
def sandbox() -> Iterator[Served]:
    """A fresh seeded sandbox."""
    with served(seeded_state()) as running:
        yield running


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Served]:
    """One sandbox for the many examples of the bad-input properties."""
    with served(seeded_state()) as running:
        yield running


def created_id(response: requests.Response) -> int:
    """The id of the ticket a create made."""
    assert response.status_code == 201, response.text
    return int(response.json()["ticket"]["id"])


# ------------------------------------------------------------------------------ (a) effects


def test_a_drop_after_commit_fault_and_a_rating_both_take_effect(sandbox: Served) -> None:
    fault = {"kind": "drop_after_commit", "method": "post", "path_regex": TICKETS_PATH}
    queued = sandbox.control("POST", "/faults", fault)
    assert queued.status_code == 201, queued.text
    assert (queued.json()["fault"]["kind"], queued.json()["fault"]["method"]) == (
        "drop_after_commit",
        "POST",
    )

    with pytest.raises(requests.ConnectionError):  # the client never hears back …
        sandbox.create("h-dropped")
    found = sandbox.get("/api/v2/tickets.json", external_id="h-dropped")
    [ticket] = found.json()["tickets"]  # … although the ticket was created
    assert sandbox.control("GET", "/faults").json() == {"queued": [], "random": []}

    assert sandbox.control("POST", f"/tickets/{ticket['id']}/solve").status_code == 200
    rated = sandbox.control(
        "POST", f"/tickets/{ticket['id']}/rate", {"score": "good", "comment": "Sorted fast"}
    )
    assert rated.status_code == 200, rated.text
    rating = sandbox.ticket(ticket["id"])["satisfaction_rating"]
    assert (rating["score"], rating["comment"]) == ("good", "Sorted fast")
    listed = sandbox.get("/api/v2/satisfaction_ratings.json", score="good").json()
    assert [r["ticket_id"] for r in listed["satisfaction_ratings"]] == [ticket["id"]]


# ------------------------------------------------------------------------------ (b) rates


CREATES, ONE_IN, SEED = 700, 7, 20_260_807


def test_b_a_random_fault_lands_within_four_sigma_of_its_rate(sandbox: Served) -> None:
    rule = {
        "kind": "status",
        "status": 500,
        "body": {"error": "InternalServerError"},
        "method": "POST",
        "path_regex": TICKETS_PATH,
        "one_in": ONE_IN,
        "seed": SEED,
    }
    assert sandbox.control("POST", "/faults/random", rule).status_code == 201
    outcomes = [sandbox.create(f"h-{n}").status_code for n in range(CREATES)]
    assert set(outcomes) <= {201, 500}
    failed = outcomes.count(500)

    p = 1 / ONE_IN
    expected = CREATES * p
    bound = 4 * math.sqrt(CREATES * p * (1 - p))  # binomial standard deviation, 4 sigma
    print(
        f"random 500s: {failed}/{CREATES} = {failed / CREATES:.4f} "
        f"(expected {expected:.0f} ± {bound:.1f}, rate {p:.4f})"
    )
    assert abs(failed - expected) <= bound

    [listed] = sandbox.control("GET", "/faults").json()["random"]
    assert (listed["matched"], listed["applied"], listed["probability"]) == (CREATES, failed, p)
    assert sandbox.get("/api/v2/groups.json").status_code == 200  # other requests untouched
    assert sandbox.get("/api/v2/tickets.json").json()["count"] == CREATES - failed

    # The same seed faults the same requests again.
    assert sandbox.control("DELETE", "/faults").status_code == 200
    assert sandbox.control("POST", "/faults/random", rule).status_code == 201
    replay = [sandbox.create(f"again-{n}").status_code for n in range(70)]
    assert replay == outcomes[:70]


# ------------------------------------------------------------------------------ (c) the rest


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_c_advancing_the_clock_ages_tickets_into_the_incremental_export(
    sandbox: Served,
) -> None:
    before = sandbox.control("GET", "/clock").json()
    moved = sandbox.control("POST", "/clock", {"advance_seconds": 3600})
    assert moved.status_code == 200, moved.text
    assert moved.json()["offset_seconds"] == 3600
    ahead = _parse(moved.json()["now"]) - _parse(before["now"])
    assert timedelta(hours=1) <= ahead < timedelta(hours=1, seconds=30)

    ticket = sandbox.ticket(created_id(sandbox.create("h-clock")))
    created = _parse(ticket["created_at"])
    assert created >= _parse(before["now"]).replace(microsecond=0) + timedelta(hours=1)

    export = "/api/v2/incremental/tickets/cursor.json"
    start = int(created.timestamp()) - 10
    assert sandbox.get(export, start_time=start).status_code == 422  # too recent for Zendesk
    sandbox.control("POST", "/clock", {"advance_seconds": 61})
    page = sandbox.get(export, start_time=start).json()
    assert [t["external_id"] for t in page["tickets"]] == ["h-clock"]


def test_c_setting_the_clock_back_needs_backwards_and_plays_a_ticket_in_the_past(
    sandbox: Served,
) -> None:
    now = _parse(sandbox.control("GET", "/clock").json()["now"])
    past = now - timedelta(days=30)
    refused = sandbox.control("POST", "/clock", {"set": past.isoformat()})
    assert refused.status_code == 422, refused.text
    assert "set" in refused.json()["message"]
    assert "backwards" in refused.json()["message"]

    moved = sandbox.control("POST", "/clock", {"set": past.isoformat(), "backwards": True})
    assert moved.status_code == 200, moved.text
    assert abs(_parse(moved.json()["now"]) - past) < timedelta(seconds=5)
    assert moved.json()["offset_seconds"] < -29 * 86_400

    ticket_id = created_id(sandbox.create("h-past"))  # the rate limit does not count the future
    assert abs(_parse(sandbox.ticket(ticket_id)["created_at"]) - past) < timedelta(seconds=5)
    later = past + timedelta(hours=5, seconds=30)
    assert sandbox.control("POST", "/clock", {"set": later.isoformat()}).status_code == 200
    assert sandbox.control("POST", f"/tickets/{ticket_id}/reply", {"body": "On it"}).ok
    assert sandbox.control("POST", f"/tickets/{ticket_id}/solve").ok
    metrics = sandbox.get(f"/api/v2/tickets/{ticket_id}/metrics.json").json()["ticket_metric"]
    assert metrics["reply_time_in_minutes"]["calendar"] == 300
    assert metrics["full_resolution_time_in_minutes"]["calendar"] == 300


def test_c_the_rate_limit_forgets_requests_counted_before_the_clock_went_back() -> None:
    with served(seeded_state(rate_limit=3)) as sandbox:
        for _ in range(3):
            assert sandbox.get("/api/v2/groups.json").status_code == 200
        assert sandbox.get("/api/v2/groups.json").status_code == 429
        back = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        assert sandbox.control("POST", "/clock", {"set": back, "backwards": True}).ok
        assert sandbox.get("/api/v2/groups.json").status_code == 200


def test_c_agents_transfer_reply_solve_and_reopen(sandbox: Served) -> None:
    ticket_id = created_id(sandbox.create("h-agents"))

    def act(action: str, body: Any = None) -> dict[str, Any]:
        answer = sandbox.control("POST", f"/tickets/{ticket_id}/{action}", body)
        assert answer.status_code == 200, answer.text
        ticket: dict[str, Any] = answer.json()["ticket"]
        return ticket

    assert act("transfer", {"group": "tier 2"})["group_id"] == TIER2
    moved = act("transfer", {"group": TIER1, "assignee": "bob@example.com"})
    assert (moved["group_id"], moved["assignee_id"], moved["status"]) == (TIER1, BOB, "open")
    act("reply", {"body": "Checking with billing", "public": False})
    act("reply", {"body": "Your refund is on its way."})
    assert act("solve")["status"] == "solved"
    assert act("reopen")["status"] == "open"

    comments = sandbox.get(f"/api/v2/tickets/{ticket_id}/comments.json").json()["comments"]
    assert [(c["public"], c["author_id"]) for c in comments[1:]] == [(False, BOB), (True, BOB)]
    metrics = sandbox.get(f"/api/v2/tickets/{ticket_id}/metrics.json").json()["ticket_metric"]
    assert (metrics["reopens"], metrics["replies"], metrics["group_stations"]) == (1, 1, 2)

    unknown = sandbox.control("POST", "/tickets/999999/solve")
    assert (unknown.status_code, unknown.json()["message"]) == (404, "no ticket 999999")
    nowhere = sandbox.control("POST", f"/tickets/{ticket_id}/transfer", {"group": "Tier 9"})
    assert nowhere.status_code == 422
    assert nowhere.json()["field"] == "group"
    assert "'Tier 1', 'Tier 2'" in nowhere.json()["message"]


def test_c_merging_closes_the_ticket_with_the_tag_and_a_private_comment(sandbox: Served) -> None:
    source = created_id(sandbox.create("h-merge-source"))
    target = created_id(sandbox.create("h-merge-target"))

    merged = sandbox.control("POST", f"/tickets/{source}/merge", {"into": target})

    assert merged.status_code == 200, merged.text
    ticket = merged.json()["ticket"]
    assert (ticket["id"], ticket["status"]) == (source, "closed")
    assert "closed_by_merge" in ticket["tags"]
    comments = sandbox.get(f"/api/v2/tickets/{source}/comments.json").json()["comments"]
    assert (comments[-1]["public"], f"#{target}" in comments[-1]["body"]) == (False, True)
    kept = sandbox.ticket(target)
    assert (kept["status"], "closed_by_merge" in kept["tags"]) == ("new", False)
    again = sandbox.control("POST", f"/tickets/{source}/merge", {"into": target})
    assert again.status_code == 422  # a closed ticket cannot be merged
    itself = sandbox.control("POST", f"/tickets/{target}/merge", {"into": target})
    assert (itself.status_code, itself.json()["field"]) == (422, "into")
    nowhere = sandbox.control("POST", f"/tickets/{target}/merge", {"into": 999999})
    assert (nowhere.status_code, nowhere.json()["field"]) == (404, "into")


def test_c_zendesks_merge_endpoint_answers_a_job_status(sandbox: Served) -> None:
    sources = [created_id(sandbox.create(f"h-m{i}")) for i in range(2)]
    target = created_id(sandbox.create("h-m-target"))

    answer = sandbox.api.post(
        f"{sandbox.base_url}/api/v2/tickets/{target}/merge",
        json={"ids": sources, "source_comment": "Duplicate", "target_comment": "Merged in"},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200, answer.text
    job = answer.json()["job_status"]
    assert job["status"] == "queued"
    done = sandbox.get(f"/api/v2/job_statuses/{job['id']}.json").json()["job_status"]
    assert (done["status"], [r["id"] for r in done["results"]]) == ("completed", sources)
    for source in sources:
        assert sandbox.ticket(source)["status"] == "closed"
        comments = sandbox.get(f"/api/v2/tickets/{source}/comments.json").json()["comments"]
        assert (comments[-1]["body"], comments[-1]["public"]) == ("Duplicate", False)
    comments = sandbox.get(f"/api/v2/tickets/{target}/comments.json").json()["comments"]
    assert [c["body"] for c in comments[-2:]] == ["Merged in", "Merged in"]
    missing = sandbox.api.post(
        f"{sandbox.base_url}/api/v2/tickets/{target}/merge", json={}, timeout=TIMEOUT
    )
    assert missing.status_code == 400


def test_c_the_export_sideloads_metric_sets_when_asked(sandbox: Served) -> None:
    ids = [created_id(sandbox.create(f"h-ms{i}")) for i in range(3)]
    sandbox.control("POST", f"/tickets/{ids[0]}/reply", {"body": "On it."})
    sandbox.control("POST", "/clock", {"advance_seconds": 120})
    path = "/api/v2/incremental/tickets/cursor.json"

    plain = sandbox.get(path, start_time=0).json()
    asked = sandbox.get(path, start_time=0, include="metric_sets").json()

    assert "metric_sets" not in plain
    assert sorted(t["id"] for t in asked["tickets"]) == ids
    by_ticket = {m["ticket_id"]: m for m in asked["metric_sets"]}
    assert sorted(by_ticket) == ids
    alone = sandbox.get(f"/api/v2/tickets/{ids[0]}/metrics.json").json()["ticket_metric"]
    assert by_ticket[ids[0]] == alone
    assert (by_ticket[ids[0]]["replies"], by_ticket[ids[1]]["replies"]) == (1, 0)


class _Receiver:
    """A tiny webhook receiver keeping what it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        self.app = FastAPI()

        @self.app.post("/hooks/zendesk")
        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            self.arrived.set()
            return Response(status_code=200)


def test_c_webhooks_pointed_over_http_arrive_signed(sandbox: Served) -> None:
    receiver = _Receiver()
    with serve_in_thread(receiver.app) as hooks:
        url = f"{hooks.base_url}/hooks/zendesk"
        pointed = sandbox.control("POST", "/webhooks", {"url": url})
        assert pointed.status_code == 201, pointed.text
        secret = pointed.json()["secret"]
        assert len(secret) >= 32  # made up, since none was given

        created_id(sandbox.create("h-hook"))
        assert receiver.arrived.wait(TIMEOUT)
        headers, body = receiver.received[0]
        timestamp = headers["x-zendesk-webhook-signature-timestamp"]
        assert headers["x-zendesk-webhook-signature"] == zendesk_signature(secret, timestamp, body)
        assert b'"type":"zen:event-type:ticket.created"' in body

        listed = sandbox.control("GET", "/webhooks")
        assert [w["url"] for w in listed.json()["webhooks"]] == [url]
        assert secret not in listed.text
        deadline = time.monotonic() + TIMEOUT  # recorded just after the receiver answers
        while not listed.json()["deliveries"] and time.monotonic() < deadline:
            time.sleep(0.01)
            listed = sandbox.control("GET", "/webhooks")
        assert listed.json()["deliveries"][0]["status"] == 200


def test_c_the_request_log_lists_api_requests_without_credentials(sandbox: Served) -> None:
    sandbox.control("POST", "/faults", {"kind": "status", "status": 503, "method": "GET"})
    assert sandbox.get("/api/v2/groups.json").status_code == 503
    assert sandbox.get("/api/v2/groups.json", per_page=1).status_code == 200
    created_id(sandbox.create("h-log"))
    anonymous = requests.get(f"{sandbox.base_url}/api/v2/users.json", timeout=TIMEOUT)
    assert anonymous.status_code == 401

    answer = sandbox.control("GET", "/requests")
    assert answer.status_code == 200
    log = answer.json()
    seen = [
        (r["method"], r["path"], r["query"], r["status"], r["fault"], r["auth_scheme"])
        for r in log["requests"]
    ]
    assert seen == [  # control calls are not logged
        ("GET", "/api/v2/groups.json", "", 503, "status", "Basic"),
        ("GET", "/api/v2/groups.json", "per_page=1", 200, None, "Basic"),
        ("POST", "/api/v2/tickets.json", "", 201, None, "Basic"),
        ("GET", "/api/v2/users.json", "", 401, None, None),
    ]
    assert (log["received"], log["capacity"]) == (4, 1000)
    assert all(_parse(r["time"]) for r in log["requests"])
    credentials = f"{sandbox.api.auth[0]}:{sandbox.api.auth[1]}"  # type: ignore[index]
    assert sandbox.token not in answer.text
    assert base64.b64encode(credentials.encode()).decode() not in answer.text
    assert sandbox.control("GET", "/requests?limit=1").json()["requests"][0]["status"] == 401


def test_c_the_request_log_keeps_only_the_newest() -> None:
    with served(seeded_state(request_log_size=3)) as sandbox:
        for per_page in range(1, 6):
            sandbox.get("/api/v2/groups.json", per_page=per_page)
        log = sandbox.control("GET", "/requests").json()
        assert [r["query"] for r in log["requests"]] == [f"per_page={n}" for n in (3, 4, 5)]
        assert log["received"] == 5
        assert sandbox.control("DELETE", "/requests").json()["received"] == 0


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address  # noqa: S104


def test_c_the_control_api_answers_loopback_clients_only() -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to call from")
    state = seeded_state()
    with serve_in_thread(create_app(state), host="0.0.0.0") as server:  # noqa: S104
        remote = f"http://{address}:{server.port}"
        refused = requests.get(f"{remote}/_sandbox/faults", timeout=TIMEOUT)
        assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
        local = requests.get(f"http://127.0.0.1:{server.port}/_sandbox/faults", timeout=TIMEOUT)
        assert local.status_code == 200


# ------------------------------------------------------------------------------ bad input

BAD_INPUT = [
    ("POST", "/faults", {"kind": "explode"}, "kind"),
    ("POST", "/faults", {}, "kind"),
    ("POST", "/faults", {"kind": "status", "times": 0}, "times"),
    ("POST", "/faults", {"kind": "status", "status": 99}, "status"),
    ("POST", "/faults", {"kind": "latency", "seconds": -1}, "seconds"),
    ("POST", "/faults", {"kind": "status", "path_regex": "("}, "path_regex"),
    ("POST", "/faults", {"kind": "status", "method": "GE T"}, "method"),
    ("POST", "/faults", {"kind": "status", "headers": {"bad name": "x"}}, "headers"),
    ("POST", "/faults", {"kind": "status", "tims": 2}, "tims"),
    ("POST", "/faults", ["status"], "body"),
    ("POST", "/faults/random", {"kind": "status"}, "probability"),
    ("POST", "/faults/random", {"kind": "reset", "probability": 0.5, "one_in": 2}, "one_in"),
    ("POST", "/faults/random", {"kind": "reset", "probability": 0}, "probability"),
    ("POST", "/faults/random", {"kind": "reset", "probability": 1.5}, "probability"),
    ("POST", "/faults/random", {"kind": "reset", "one_in": 0}, "one_in"),
    ("POST", "/faults/random", {"kind": "reset", "one_in": 2, "seed": "x"}, "seed"),
    ("POST", "/clock", {"advance_seconds": -5}, "advance_seconds"),
    ("POST", "/clock", {}, "advance_seconds"),
    ("POST", "/clock", {"set": "2026-10-28T09:00:00"}, "set"),
    ("POST", "/clock", {"set": "yesterday"}, "set"),
    ("POST", "/clock", {"advance_seconds": 1, "set": "2030-01-01T00:00:00Z"}, "set"),
    ("POST", "/clock", {"advance_seconds": 1, "backwards": True}, "backwards"),
    ("POST", "/webhooks", {"url": "ftp://example.com/hook"}, "url"),
    ("POST", "/webhooks", {"url": "http://127.0.0.1:9/h", "secret": ""}, "secret"),
    ("POST", "/tickets/1/reply", {"body": "   "}, "body"),
    ("POST", "/tickets/1/reply", {"body": "hi", "public": "maybe"}, "public"),
    ("POST", "/tickets/1/rate", {"score": "great"}, "score"),
    ("POST", "/tickets/1/transfer", {}, "group"),
    ("POST", "/tickets/one/solve", None, "ticket_id"),
    ("GET", "/requests?limit=0", None, "limit"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_INPUT)
def test_c_bad_input_is_a_422_naming_the_field(
    shared_sandbox: Served, method: str, path: str, body: Any, field: str
) -> None:
    answer = shared_sandbox.control(method, path, body)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["message"]


def test_c_a_body_that_is_not_json_is_a_422(shared_sandbox: Served) -> None:
    answer = requests.post(
        f"{shared_sandbox.base_url}/_sandbox/clock",
        data=b"{advance",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("body: ")


def test_c_an_unknown_control_endpoint_is_a_404(shared_sandbox: Served) -> None:
    answer = shared_sandbox.control("GET", "/nothing-here")
    assert (answer.status_code, answer.json()["error"]) == (404, "not_found")
    wrong_method = shared_sandbox.control("PUT", "/clock", {"advance_seconds": 1})
    assert wrong_method.status_code == 405
    assert wrong_method.json()["message"] == "no control endpoint PUT /_sandbox/clock"


_FINITE = st.floats(allow_nan=False, allow_infinity=False)
BAD_FAULT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.text().filter(lambda text: text not in FAULT_KINDS) | st.integers(),
    "times": st.integers(max_value=0) | st.floats(1.1, 99.9).filter(lambda x: x % 1 != 0),
    "status": st.integers(max_value=99) | st.integers(min_value=600),
    "seconds": st.floats(-1e9, -1e-6) | st.floats(601, 1e9),  # -0.0 is a fine zero
    "retry_after": st.integers(max_value=-1) | st.integers(min_value=86_401),
    "path_regex": st.sampled_from(["(", "[a-", "*x", "a{2,1}", "(?P<"]),
    "method": st.text(min_size=1).filter(lambda text: not re.fullmatch(r"\*|[A-Za-z]+", text)),
    "headers": st.dictionaries(st.sampled_from(["", "a b", "x:y", "é"]), st.text(), min_size=1),
}


@settings(max_examples=80, deadline=None)
@given(
    bad=st.sampled_from(sorted(BAD_FAULT_VALUES)).flatmap(
        lambda name: st.tuples(st.just(name), BAD_FAULT_VALUES[name])
    ),
    random_rule=st.booleans(),
)
def test_c_any_bad_fault_field_is_a_422_naming_it(
    shared_sandbox: Served, bad: tuple[str, Any], random_rule: bool
) -> None:
    name, value = bad
    body = {"kind": "status", "one_in": 3} if random_rule else {"kind": "status"}
    answer = shared_sandbox.control(
        "POST", "/faults/random" if random_rule else "/faults", {**body, name: value}
    )
    assert answer.status_code == 422, answer.text
    assert f"{name}" in answer.json()["message"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _FINITE | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    ("kind", "times", "status", "seconds", "probability", "one_in", "seed", "advance_seconds")
) | st.sampled_from(("url", "secret", "body", "public", "group", "assignee", "score", "comment"))
_ENDPOINTS = st.sampled_from(
    ["/faults", "/faults/random", "/clock", "/webhooks"]
    + [f"/tickets/1/{action}" for action in ("reply", "solve", "reopen", "transfer", "rate")]
)


@settings(max_examples=120, deadline=None)
@given(
    path=_ENDPOINTS,
    body=st.dictionaries(_KEYS | st.text(max_size=8), _JSON, max_size=4) | _JSON,
)
def test_c_no_body_makes_the_control_api_fail_with_a_500(
    shared_sandbox: Served, path: str, body: Any
) -> None:
    answer = shared_sandbox.control("POST", path, body)
    try:
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            assert {"error", "message"} <= set(answer.json())
    finally:
        shared_sandbox.control("DELETE", "/faults")
