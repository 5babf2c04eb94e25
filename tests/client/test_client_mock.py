"""The client over ``httpx.MockTransport``: what it sends, how often, and what it raises.

Sleeps go through the client's ``sleep`` seam into a list, so Retry-After and backoff are
observed, never waited out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.client import (
    AsyncBatonClient,
    BatonClient,
    BatonError,
    HandoffConflict,
    InvalidHandoff,
    NotFound,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
    WaitTimeout,
)
from baton.client.protocol import BACKOFF_INITIAL, BACKOFF_MAX, retry_after_seconds
from baton.core.errors import BatonError as CoreBatonError
from tests.support.builders import handoff_doc, make_handoff

BASE = "http://baton.test"
KEY = "mock-api-key-0123456789abcdef"
Step = httpx.Response | Exception


def accepted(handoff_id: str = "h-1") -> httpx.Response:
    url = f"/v1/handoffs/{handoff_id}"
    body = {"id": handoff_id, "status": "received", "platform": "zendesk", "status_url": url}
    return httpx.Response(202, json={**body, "warnings": []})


def status_doc(handoff_id: str = "h-1", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": handoff_id,
        "platform": "zendesk",
        "status": "received",
        "delivery": None,
        "ticket": None,
        "disposition": None,
        "history": [],
        "human_holds_conversation": False,
    }
    return {**doc, **changes}


class Script:
    """A MockTransport handler that answers with ``steps`` in turn and keeps every request."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step

    async def answer(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self(request)

    @property
    def bodies(self) -> list[bytes]:
        return [r.content for r in self.requests]


def client(script: Script, slept: list[float], **options: Any) -> BatonClient:
    return BatonClient(
        BASE, KEY, transport=httpx.MockTransport(script), sleep=slept.append, **options
    )


def test_retry_after_on_429_is_honoured_and_the_same_body_sent_again() -> None:
    script = Script([httpx.Response(429, headers={"Retry-After": "7"}), accepted()])
    slept: list[float] = []
    answer = client(script, slept).handoff(handoff_doc("h-1"))
    assert answer.id == "h-1"
    assert answer.status == "received"
    assert not answer.existing
    assert answer.status_url == f"{BASE}/v1/handoffs/h-1"
    assert slept == [7.0]
    assert len(script.requests) == 2
    assert script.bodies[0] == script.bodies[1]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in script.requests)
    assert all(r.headers["content-type"] == "application/json" for r in script.requests)


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("nan", now) is None


def test_5xx_then_success_backs_off_exponentially_with_jitter() -> None:
    script = Script([httpx.Response(500), httpx.Response(502), httpx.Response(503), accepted()])
    slept: list[float] = []
    client(script, slept).handoff(handoff_doc("h-1"))
    assert len(script.requests) == 4
    for attempt, pause in enumerate(slept):
        floor = min(BACKOFF_MAX, BACKOFF_INITIAL * 2**attempt)
        assert floor <= pause <= floor + BACKOFF_INITIAL


def test_a_document_without_id_gets_one_id_for_every_attempt() -> None:
    doc = handoff_doc()
    del doc["id"], doc["created_at"]
    script = Script([httpx.ConnectError("refused"), httpx.Response(503), accepted("x")])
    client(script, []).handoff(doc)
    sent = [json.loads(body) for body in script.bodies]
    assert len(sent) == 3
    assert sent[0] == sent[1] == sent[2]
    assert sent[0]["id"]
    assert sent[0]["created_at"]
    assert "id" not in doc  # the caller's document is left alone


def test_exhausted_retries_on_5xx_raise_service_unavailable() -> None:
    script = Script([httpx.Response(503, headers={"Retry-After": "2"})])
    slept: list[float] = []
    with pytest.raises(ServiceUnavailable) as caught:
        client(script, slept, retries=2).handoff(handoff_doc())
    assert caught.value.status == 503
    assert caught.value.retry_after == 2
    assert len(script.requests) == 3
    assert slept == [2.0, 2.0]


def test_a_retry_after_too_long_to_wait_ends_the_retries() -> None:
    script = Script([httpx.Response(429, headers={"Retry-After": "3600"}), accepted()])
    slept: list[float] = []
    with pytest.raises(ServiceUnavailable) as caught:
        client(script, slept).handoff(handoff_doc())
    assert caught.value.retry_after == 3600
    assert slept == []
    assert len(script.requests) == 1


def test_timeouts_are_retried_then_raised_with_their_cause() -> None:
    script = Script([httpx.ReadTimeout("slow")])
    with pytest.raises(TransportError) as caught:
        client(script, [], retries=1).handoff(handoff_doc())
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(script.requests) == 2
    assert KEY not in str(caught.value)


def test_the_timeout_is_explicit_on_every_request() -> None:
    script = Script([accepted()])
    client(script, [], timeout=2.5).handoff(handoff_doc())
    assert script.requests[0].extensions["timeout"] == {
        "connect": 2.5,
        "read": 2.5,
        "write": 2.5,
        "pool": 2.5,
    }


def test_a_malformed_url_is_not_retried() -> None:
    script = Script([httpx.UnsupportedProtocol("no scheme")])
    with pytest.raises(TransportError):
        client(script, []).handoff(handoff_doc())
    assert len(script.requests) == 1


def test_409_is_a_conflict_and_never_retried() -> None:
    script = Script([httpx.Response(409, json={"error": "handoff_conflict"})])
    with pytest.raises(HandoffConflict) as caught:
        client(script, []).handoff(handoff_doc("h-9"))
    assert caught.value.handoff_id == "h-9"
    assert len(script.requests) == 1


def test_422_carries_every_field_path() -> None:
    problems = [
        {"path": "summary", "message": "String should have at least 1 character"},
        {"path": "triggers[0].score", "message": "Input should be less than or equal to 1"},
    ]
    script = Script([httpx.Response(422, json={"error": "invalid_handoff", "problems": problems})])
    with pytest.raises(InvalidHandoff) as caught:
        client(script, []).handoff(handoff_doc())
    assert [(p.path, p.message) for p in caught.value.problems] == [
        (p["path"], p["message"]) for p in problems
    ]
    assert caught.value.status == 422
    assert len(script.requests) == 1


def test_an_invalid_handoff_is_refused_before_any_request() -> None:
    script = Script([accepted()])
    bad = handoff_doc(summary="", triggers=[], customer={"email": "not-an-email"})
    with pytest.raises(InvalidHandoff) as caught:
        client(script, []).handoff(bad)
    assert {p.path for p in caught.value.problems} == {"summary", "triggers", "customer.email"}
    assert caught.value.status is None
    assert script.requests == []
    assert "not-an-email" not in str(caught.value)


def test_unknown_vocabulary_is_the_service_s_to_accept_not_the_client_s() -> None:
    script = Script([accepted()])
    client(script, []).handoff(handoff_doc(triggers=[{"kind": "frustration"}], channel="fax"))
    sent = json.loads(script.bodies[0])
    assert sent["triggers"][0]["original_kind"] == "frustration"
    assert sent["original_channel"] == "fax"


def test_a_handoff_model_is_sent_as_it_is() -> None:
    script = Script([accepted("h-7")])
    client(script, []).handoff(make_handoff("h-7"))
    assert json.loads(script.bodies[0])["id"] == "h-7"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(401, json={"error": "unauthorized"}), Unauthorized),
        (httpx.Response(404, json={"error": "not_found"}), NotFound),
        (httpx.Response(415, json={"error": "unsupported_media_type"}), UnexpectedResponse),
        (httpx.Response(200, text="<html>a proxy</html>"), UnexpectedResponse),
    ],
)
def test_other_answers_are_errors_of_the_tree(answer: httpx.Response, error: type) -> None:
    script = Script([answer])
    with pytest.raises(error) as caught:
        client(script, []).handoff(handoff_doc())
    assert isinstance(caught.value, BatonError)
    assert isinstance(caught.value, CoreBatonError)
    assert len(script.requests) == 1
    assert KEY not in str(caught.value)


def test_200_means_already_received() -> None:
    script = Script([httpx.Response(200, json=status_doc("h-1", status="delivered"))])
    answer = client(script, []).handoff(handoff_doc("h-1"))
    assert answer.existing
    assert answer.status == "delivered"
    assert answer.status_url == f"{BASE}/v1/handoffs/h-1"


def test_status_reads_the_document_and_ignores_what_it_does_not_know() -> None:
    reply = {"reply_id": "r1", "author": "Ana", "body": "Refund sent.", "at": "2026-03-01T12:00Z"}
    ticket = {"platform": "zendesk", "id": "42", "url": "https://z.test/42"}
    doc = status_doc(ticket=ticket, latest_reply=reply, brand_new_field={"x": 1})
    status = client(Script([httpx.Response(200, json=doc)]), []).status("h-1")
    assert status.ticket is not None
    assert status.ticket.url == "https://z.test/42"
    assert status.ticket.route is None
    assert status.latest_reply is not None
    assert status.latest_reply.body == "Refund sent."
    older = client(Script([httpx.Response(200, json=status_doc())]), []).status("h-1")
    assert older.latest_reply is None
    assert older.ticket is None


def test_status_of_an_impossible_id_is_not_found_without_a_request() -> None:
    script = Script([httpx.Response(200, json=status_doc())])
    with pytest.raises(NotFound):
        client(script, []).status("not an id/../x")
    assert script.requests == []


class FakeClock:
    """A monotonic clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_wait_polls_until_the_ticket_exists() -> None:
    ticket = {"platform": "zendesk", "id": "42", "url": None}
    answers = [httpx.Response(200, json=status_doc()) for _ in range(3)]
    script = Script([*answers, httpx.Response(200, json=status_doc(ticket=ticket))])
    clock = FakeClock()
    transport = httpx.MockTransport(script)
    with BatonClient(
        BASE, KEY, transport=transport, sleep=clock.sleep, clock=lambda: clock.now
    ) as c:
        status = c.wait("h-1", until="ticket", timeout=5, poll=0.5)
    assert status.ticket is not None
    assert status.ticket.id == "42"
    assert clock.slept == [0.5, 0.5, 0.5]


def test_wait_for_resolved_times_out_with_the_last_status() -> None:
    open_doc = status_doc(disposition={"outcome": "open"})
    script = Script([httpx.Response(200, json=open_doc)])
    clock = FakeClock()
    transport = httpx.MockTransport(script)
    with BatonClient(
        BASE, KEY, transport=transport, sleep=clock.sleep, clock=lambda: clock.now
    ) as c:
        with pytest.raises(WaitTimeout) as caught:
            c.wait("h-1", until="resolved", timeout=2, poll=0.5)
        with pytest.raises(ValueError, match="until"):
            c.wait("h-1", until="forever", timeout=2)  # type: ignore[arg-type]
    assert caught.value.last.outcome == "open"
    assert sum(clock.slept) == pytest.approx(2.0)


def test_the_async_client_retries_and_waits_the_same_way() -> None:
    ticket = {"platform": "zendesk", "id": "42", "url": "https://z.test/42"}
    script = Script(
        [
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.ReadError("reset"),
            accepted("h-1"),
            httpx.Response(200, json=status_doc(ticket=ticket)),
        ]
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def run() -> tuple[str, str | None]:
        transport = httpx.MockTransport(script.answer)
        async with AsyncBatonClient(BASE, KEY, transport=transport, sleep=sleep) as c:
            answer = await c.handoff(handoff_doc("h-1"))
            status = await c.wait(answer.id, until="ticket", timeout=5)
        return answer.id, status.ticket.url if status.ticket else None

    assert asyncio.run(run()) == ("h-1", "https://z.test/42")
    assert slept[0] == 3.0
    assert len(slept) == 2
    assert script.bodies[0] == script.bodies[1] == script.bodies[2]


def test_the_async_client_raises_the_same_errors() -> None:
    problems = [{"path": "intent", "message": "String should match pattern"}]
    script = Script([httpx.Response(422, json={"error": "invalid_handoff", "problems": problems})])

    async def run() -> None:
        async with AsyncBatonClient(BASE, KEY, transport=httpx.MockTransport(script.answer)) as c:
            await c.handoff(handoff_doc())

    with pytest.raises(InvalidHandoff) as caught:
        asyncio.run(run())
    assert [p.path for p in caught.value.problems] == ["intent"]


FAILURES: st.SearchStrategy[Step] = st.one_of(
    st.sampled_from([429, 500, 502, 503, 504]).map(httpx.Response),
    st.sampled_from([httpx.ConnectError("x"), httpx.ReadTimeout("x"), httpx.ReadError("x")]),
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(FAILURES, max_size=5), retries=st.integers(0, 4))
def test_any_run_of_failures_retries_the_same_request_up_to_the_limit(
    steps: list[Step], retries: int
) -> None:
    script = Script([*steps, accepted("h-p")])
    slept: list[float] = []
    c = client(script, slept, retries=retries)
    if len(steps) <= retries:
        assert c.handoff(handoff_doc("h-p")).id == "h-p"
        assert len(script.requests) == len(steps) + 1
    else:
        with pytest.raises((ServiceUnavailable, TransportError)):
            c.handoff(handoff_doc("h-p"))
        assert len(script.requests) == retries + 1
    assert len(set(script.bodies)) == 1
    assert len(slept) == len(script.requests) - 1
