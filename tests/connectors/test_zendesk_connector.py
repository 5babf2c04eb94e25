"""connectors.zendesk against ``responses`` (zenpy speaks requests): the exact create, the
look-up before a retry (O3), the classification table (O6), the catalog, webhook verification
(A1, A3-A6) and parsing, the incremental export (S4) and secrecy (C2)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import shutil
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from responses import matchers
from typer.testing import CliRunner, Result
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, RecordNotFoundException

from baton.connectors.base import connector_for
from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.http import ZendeskSettings, classify
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.errors import (
    AccessDenied,
    ConfigError,
    FatalError,
    IdempotencyConflict,
    PayloadError,
    PlatformError,
    RetryableError,
    TargetRefused,
    VerificationError,
)
from baton.core.handoff import Handoff, parse_handoff
from baton.core.mapping import CompiledMapping, load_mapping, plan_requests
from baton.core.plugin import registry
from baton.core.ratelimit import RateLimiter
from baton.sandbox.server import ZendeskSandbox
from baton.sandbox.signing import zendesk_signature, zendesk_timestamp
from baton.sandbox.zendesk import ManualClock, ZendeskState
from baton.webhooks.cli import app as cli_app
from tests.support.paths import MAPPINGS, catalog_path
from tests.support.paths import VIP_REFUND as EXAMPLE

BASE = "https://zd.example.test"
TICKETS = f"{BASE}/api/v2/tickets.json"
EXPORT = f"{BASE}/api/v2/incremental/tickets/cursor.json"
TOKEN = "tok-Zx9q-never-print-me"
OLD_SECRET, NEW_SECRET = "whsec-old-8f3a2c", "whsec-new-1b7c9d"
NOW = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
SIG, TS = "x-zendesk-webhook-signature", "x-zendesk-webhook-signature-timestamp"
TIER1, BILLING, MAYA = 360002000001, 360002000002, 360003000001


@functools.cache
def mapping() -> CompiledMapping:
    return load_mapping(MAPPINGS, "zendesk")


@functools.cache
def handoff() -> Handoff:
    return parse_handoff(EXAMPLE.read_bytes())


def _env(**extra: str) -> dict[str, str]:
    return {
        "BATON_ZENDESK_SUBDOMAIN": "acme",
        "BATON_ZENDESK_EMAIL": "baton@example.com",
        "BATON_ZENDESK_TOKEN": TOKEN,
        "BATON_ZENDESK_WEBHOOK_SECRETS": f"{OLD_SECRET}, {NEW_SECRET}",
        "BATON_ZENDESK_RATE_LIMIT": "600000",
        "BATON_ZENDESK_TIMEOUT": "5",
        **extra,
    }


@pytest.fixture
def zenpy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the connector set ZENPY_FORCE_* and put the previous values back afterwards."""
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "placeholder")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "placeholder")


@pytest.fixture
def connector(zenpy_env: None) -> Iterator[ZendeskConnector]:
    """The connector pointed at BASE through BATON_ZENDESK_URL."""
    built = ZendeskConnector.from_env(mapping(), _env(BATON_ZENDESK_URL=BASE))
    yield built
    built.close()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _created(ticket_id: int = 42, lookup: str = "miss") -> dict[str, Any]:
    return {
        "method": responses.POST,
        "url": TICKETS,
        "json": {"ticket": {"id": ticket_id, "external_id": handoff().id}, "audit": {}},
        "status": 201,
        "headers": {"x-idempotency-lookup": lookup},
    }


def _matches(*ids: int) -> dict[str, Any]:
    return {
        "tickets": [{"id": i, "external_id": handoff().id, "status": "new"} for i in ids],
        "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
        "links": {"next": None, "prev": None},
    }


# ------------------------------------------------------------------------------ registry, env


def test_the_registered_zendesk_plugin_delivers_through_this_connector(zenpy_env: None) -> None:
    zendesk = registry().get("zendesk")
    assert "zendesk" in registry().built_in
    assert zendesk.delivers
    assert isinstance(zendesk.make_connector(mapping(), _env()), ZendeskConnector)


def test_connector_for_builds_it_from_the_environment(zenpy_env: None) -> None:
    built = connector_for("zendesk", mapping(), _env())
    assert isinstance(built, ZendeskConnector)
    assert built.settings.webhook_secrets[1].get_secret_value() == NEW_SECRET
    assert built.settings.rate_limit == 600000
    assert built.settings.timeout == 5


@pytest.mark.parametrize(
    "missing", ["BATON_ZENDESK_SUBDOMAIN", "BATON_ZENDESK_EMAIL", "BATON_ZENDESK_TOKEN"]
)
def test_a_missing_required_setting_names_the_variable(missing: str) -> None:
    env = _env()
    env[missing] = " "
    with pytest.raises(ConfigError, match=f"^{missing} is not set$"):
        ZendeskConnector.from_env(mapping(), env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BATON_ZENDESK_RATE_LIMIT", "fast"),
        ("BATON_ZENDESK_RATE_LIMIT", "-1"),
        ("BATON_ZENDESK_TIMEOUT", "nan"),
        ("BATON_ZENDESK_URL", "ftp://host"),
        ("BATON_ZENDESK_SUBDOMAIN", "acme.zendesk.com/x"),
    ],
)
def test_a_bad_setting_names_the_variable_not_the_value(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as info:
        ZendeskConnector.from_env(mapping(), _env(**{name: value}))
    assert value not in str(info.value)


def test_base_url_points_zenpy_at_it_process_wide(connector: ZendeskConnector) -> None:
    assert (os.environ["ZENPY_FORCE_SCHEME"], os.environ["ZENPY_FORCE_NETLOC"]) == (
        "https",
        "zd.example.test",
    )
    assert connector.ticket_url("7") == f"{BASE}/api/v2/tickets/7.json"


# ------------------------------------------------------------------------------ create


def test_create_sends_exactly_the_planned_request(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(**_created())
    ref = connector.create_ticket(handoff())
    [planned] = plan_requests(mapping(), handoff()).requests
    [call] = mocked.calls
    sent = call.request
    assert (sent.method, sent.url) == (planned.method, BASE + planned.path)
    assert sent.headers["Idempotency-Key"] == planned.headers["Idempotency-Key"] == handoff().id
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Authorization"].startswith("Basic ")
    assert sent.body is not None
    assert json.loads(sent.body) == planned.json
    assert ref.platform == "zendesk"
    assert ref.ticket_id == "42"
    assert ref.created is True
    assert ref.url == f"{BASE}/api/v2/tickets/42.json"


def test_an_idempotency_hit_is_not_a_new_ticket(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(**_created(lookup="hit"))
    ref = connector.create_ticket(handoff())
    assert (ref.ticket_id, ref.created) == ("42", False)


def test_without_a_base_url_the_ticket_link_is_the_agent_ui(
    monkeypatch: pytest.MonkeyPatch, mocked: responses.RequestsMock
) -> None:
    monkeypatch.delenv("ZENPY_FORCE_NETLOC", raising=False)
    monkeypatch.delenv("ZENPY_FORCE_SCHEME", raising=False)
    mocked.add(**{**_created(), "url": "https://acme.zendesk.com/api/v2/tickets.json"})
    ref = ZendeskConnector.from_env(mapping(), _env()).create_ticket(handoff())
    assert ref.url == "https://acme.zendesk.com/agent/tickets/42"


def _lookup(mocked: responses.RequestsMock, *ids: int) -> None:
    mocked.add(
        responses.GET,
        TICKETS,
        json=_matches(*ids),
        match=[matchers.query_param_matcher({"external_id": handoff().id}, strict_match=False)],
    )


def test_o3_retry_with_no_earlier_ticket_looks_up_then_creates(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    _lookup(mocked)
    mocked.add(**_created())
    ref = connector.create_ticket(handoff(), first_attempt=False)
    assert [c.request.method for c in mocked.calls] == ["GET", "POST"]
    assert (ref.ticket_id, ref.created) == ("42", True)


def test_o3_retry_finds_the_one_earlier_ticket_and_does_not_create(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    _lookup(mocked, 7)
    ref = connector.create_ticket(handoff(), first_attempt=False)
    assert [c.request.method for c in mocked.calls] == ["GET"]
    assert (ref.ticket_id, ref.created) == ("7", False)


def test_o3_two_tickets_with_the_handoff_id_are_a_conflict(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    _lookup(mocked, 7, 8)
    with pytest.raises(IdempotencyConflict, match="several tickets"):
        connector.create_ticket(handoff(), first_attempt=False)
    assert [c.request.method for c in mocked.calls] == ["GET"]


def test_o3_a_key_reused_with_another_body_is_a_conflict(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    body = {
        "error": "IdempotentRequestError",
        "description": "Request parameters don't match the given idempotency key",
    }
    mocked.add(responses.POST, TICKETS, json=body, status=400)
    with pytest.raises(IdempotencyConflict) as info:
        connector.create_ticket(handoff())
    assert info.value.code == "IdempotentRequestError"
    assert info.value.status == 400


def test_a_201_without_a_readable_ticket_is_retryable(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(responses.POST, TICKETS, body="<html>", status=201)
    with pytest.raises(RetryableError, match="without a readable ticket"):
        connector.create_ticket(handoff())


# ------------------------------------------------------------------------------ O6 table

RECORD_INVALID = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {
        "priority": [{"description": "Priority: is not valid", "error": "InvalidValue"}],
        "base": [
            {
                "description": "Customer Tier: TIER-VALUE-SECRET is not a valid option",
                "error": "InvalidValue",
                "ticket_field_id": 360001000002,
            }
        ],
    },
}

# Zendesk's own answer to a create whose assignee it refuses (quoted in facetoe/zenpy#628).
ASSIGNEE_REFUSED = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {
        "assignee": [
            {"description": "Assignee: is invalid", "error": "InvalidValue"},
            {"description": "Assignee: is not a member of the group"},
        ]
    },
}

TABLE: list[tuple[int, Any, dict[str, str], type[PlatformError]]] = [
    (
        429,
        "Number of allowed API requests per minute exceeded",
        {"Retry-After": "17"},
        RetryableError,
    ),
    (500, {"error": "InternalError"}, {}, RetryableError),
    (502, "<html>Bad Gateway</html>", {}, RetryableError),
    (503, {"error": "ServiceUnavailable"}, {}, RetryableError),
    (400, {"error": "InvalidValue", "description": "x"}, {}, FatalError),
    (401, {"error": "Couldn't authenticate you"}, {}, AccessDenied),
    (403, {"error": "Forbidden"}, {}, AccessDenied),
    (404, {"error": "RecordNotFound", "description": "Not found"}, {}, FatalError),
    (422, RECORD_INVALID, {}, FatalError),
    (422, ASSIGNEE_REFUSED, {}, TargetRefused),
]


def _respond(
    mocked: responses.RequestsMock,
    method: str,
    url: str,
    status: int,
    body: Any,
    headers: dict[str, str],
) -> None:
    if isinstance(body, dict):
        mocked.add(method, url, json=body, status=status, headers=headers)
    else:
        mocked.add(method, url, body=body, status=status, headers=headers)


@pytest.mark.parametrize(("status", "body", "headers", "expected"), TABLE)
def test_o6_create_classification(
    connector: ZendeskConnector,
    mocked: responses.RequestsMock,
    status: int,
    body: Any,
    headers: dict[str, str],
    expected: type[PlatformError],
) -> None:
    _respond(mocked, responses.POST, TICKETS, status, body, headers)
    with pytest.raises(PlatformError) as info:
        connector.create_ticket(handoff())
    assert type(info.value) is expected
    assert info.value.status == status


@pytest.mark.parametrize(("status", "body", "headers", "expected"), TABLE)
def test_o6_zenpy_calls_are_classified_the_same_way(
    connector: ZendeskConnector,
    mocked: responses.RequestsMock,
    status: int,
    body: Any,
    headers: dict[str, str],
    expected: type[PlatformError],
) -> None:
    _respond(mocked, responses.GET, TICKETS, status, body, headers)
    with pytest.raises(PlatformError) as info:
        connector.find_ticket(handoff().id)
    assert type(info.value) is expected


def test_o6_429_carries_retry_after_and_pauses_the_connection(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(responses.POST, TICKETS, body="limit", status=429, headers={"Retry-After": "17"})
    with pytest.raises(RetryableError) as info:
        connector.create_ticket(handoff())
    assert info.value.retry_after == 17
    assert 16 < connector.limiter.paused_remaining() <= 17


def test_o6_429_inside_zenpy_is_not_slept_on_and_keeps_retry_after(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(responses.GET, TICKETS, body="limit", status=429, headers={"Retry-After": "9"})
    with pytest.raises(RetryableError) as info:
        connector.find_ticket(handoff().id)
    assert info.value.status == 429
    assert info.value.retry_after is not None
    assert 8 < info.value.retry_after <= 9
    assert len(mocked.calls) == 1  # zenpy did not wait and try again


def test_o6_record_invalid_names_the_fields_not_their_values(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(responses.POST, TICKETS, json=RECORD_INVALID, status=422)
    with pytest.raises(FatalError) as info:
        connector.create_ticket(handoff())
    assert info.value.code == "RecordInvalid"
    assert str(info.value) == "zendesk: record invalid: custom field 360001000002, priority"


# ------------------------------------------------------------------------------ backup target

GENERAL_SUPPORT = 360002000009  # the mapping's routing.backup group


def _refused(**details: str) -> dict[str, Any]:
    return {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {k: [{"description": v, "error": "InvalidValue"}] for k, v in details.items()},
    }


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (ASSIGNEE_REFUSED, ("assignee",)),  # Zendesk's own answer
        (_refused(group="Group: is invalid"), ("group",)),
        (_refused(group_id="Group: is invalid"), ("group_id",)),  # the sandbox's spelling
        (_refused(group_id="Group: x", assignee_id="Assignee: y"), ("assignee_id", "group_id")),
    ],
    ids=["zendesk-assignee", "group", "sandbox-group_id", "sandbox-both"],
)
def test_a_refused_group_or_assignee_is_target_refused_offering_the_backup(
    connector: ZendeskConnector,
    mocked: responses.RequestsMock,
    body: dict[str, Any],
    fields: tuple[str, ...],
) -> None:
    mocked.add(responses.POST, TICKETS, json=body, status=422)
    with pytest.raises(TargetRefused) as info:
        connector.create_ticket(handoff())
    refused = info.value
    assert (refused.status, refused.code, refused.fields) == (422, "RecordInvalid", fields)
    assert refused.backup == "group General Support"
    assert str(refused) == f"zendesk: target refused: {', '.join(fields)}"
    assert isinstance(refused, FatalError)


def test_record_invalid_about_the_target_and_more_is_a_plain_fatal_error(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    body = _refused(group_id="Group: is invalid", priority="Priority: is not valid")
    mocked.add(responses.POST, TICKETS, json=body, status=422)
    with pytest.raises(FatalError) as info:
        connector.create_ticket(handoff())
    assert type(info.value) is FatalError
    assert str(info.value) == "zendesk: record invalid: group_id, priority"


@pytest.mark.parametrize(
    ("use_backup", "group_id", "assignee_id", "route", "target"),
    [
        (False, 360002000003, MAYA, "VIP billing", "group VIP Billing, agent Maya Okafor"),
        (True, GENERAL_SUPPORT, None, "VIP billing (backup)", "group General Support"),
    ],
    ids=["chosen", "backup"],
)
def test_a_create_says_which_target_it_used_under_the_same_key(
    connector: ZendeskConnector,
    mocked: responses.RequestsMock,
    use_backup: bool,
    group_id: int,
    assignee_id: int | None,
    route: str,
    target: str,
) -> None:
    mocked.add(**_created())
    ref = connector.create_ticket(handoff(), use_backup=use_backup)
    [call] = mocked.calls
    assert call.request.body is not None
    sent = json.loads(call.request.body)["ticket"]
    assert (sent["group_id"], sent.get("assignee_id")) == (group_id, assignee_id)
    assert sent["external_id"] == call.request.headers["Idempotency-Key"] == handoff().id
    assert (ref.route, ref.target, ref.backup) == (route, target, use_backup)


def test_a_refused_backup_offers_no_further_backup(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(responses.POST, TICKETS, json=_refused(group="Group: is invalid"), status=422)
    with pytest.raises(TargetRefused) as info:
        connector.create_ticket(handoff(), use_backup=True)
    assert info.value.backup is None


def test_without_a_backup_target_a_refusal_offers_none_and_use_backup_is_refused(
    zenpy_env: None, mocked: responses.RequestsMock
) -> None:
    plain = dataclasses.replace(mapping(), backup=None)
    connector = ZendeskConnector.from_env(plain, _env(BATON_ZENDESK_URL=BASE))
    mocked.add(responses.POST, TICKETS, json=ASSIGNEE_REFUSED, status=422)
    with pytest.raises(TargetRefused) as info:
        connector.create_ticket(handoff())
    assert info.value.backup is None
    with pytest.raises(ConfigError, match="names no routing"):
        connector.create_ticket(handoff(), use_backup=True)
    assert len(mocked.calls) == 1  # the second sent nothing
    connector.close()


def test_a_backup_that_is_the_refused_target_is_not_offered(
    zenpy_env: None, mocked: responses.RequestsMock
) -> None:
    [vip] = [route for route in mapping().routes if route.name == "VIP billing"]
    same = dataclasses.replace(mapping(), backup=vip.target)
    connector = ZendeskConnector.from_env(same, _env(BATON_ZENDESK_URL=BASE))
    mocked.add(responses.POST, TICKETS, json=ASSIGNEE_REFUSED, status=422)
    with pytest.raises(TargetRefused) as info:
        connector.create_ticket(handoff())
    assert info.value.backup is None
    connector.close()


def _lookup_on(mocked: responses.RequestsMock, group_id: int, assignee_id: int | None) -> None:
    ticket = {"id": 7, "external_id": handoff().id, "status": "new", "group_id": group_id}
    ticket["assignee_id"] = assignee_id
    found = {**_matches(), "tickets": [ticket]}
    mocked.add(responses.GET, TICKETS, json=found)


@pytest.mark.parametrize("use_backup", [False, True])
@pytest.mark.parametrize(
    ("group_id", "assignee_id", "expected"),
    [
        (GENERAL_SUPPORT, None, ("VIP billing (backup)", "group General Support", True)),
        (360002000003, MAYA, ("VIP billing", "group VIP Billing, agent Maya Okafor", False)),
        (TIER1, None, (None, None, None)),  # moved since: the link cannot tell
    ],
    ids=["on-backup", "on-chosen", "moved"],
)
def test_a_ticket_found_on_retry_gets_the_route_whose_target_it_sits_on(
    connector: ZendeskConnector,
    mocked: responses.RequestsMock,
    use_backup: bool,
    group_id: int,
    assignee_id: int | None,
    expected: tuple[str | None, str | None, bool | None],
) -> None:
    _lookup_on(mocked, group_id, assignee_id)
    ref = connector.create_ticket(handoff(), first_attempt=False, use_backup=use_backup)
    assert [c.request.method for c in mocked.calls] == ["GET"]
    assert (ref.ticket_id, ref.created) == ("7", False)
    assert (ref.route, ref.target, ref.backup) == expected


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("connection reset by peer"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("broken body"),
    ],
    ids=["connection", "connect-timeout", "read-timeout", "chunked"],
)
def test_o6_transport_failures_are_retryable(
    connector: ZendeskConnector, mocked: responses.RequestsMock, failure: Exception
) -> None:
    mocked.add(responses.POST, TICKETS, body=failure)
    mocked.add(responses.GET, TICKETS, body=failure)
    with pytest.raises(RetryableError):
        connector.create_ticket(handoff())
    with pytest.raises(RetryableError):
        connector.find_ticket(handoff().id)


def _response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (APIException("{}", response=_response(503)), RetryableError),
        (RecordNotFoundException("{}", response=_response(404)), FatalError),
        (APIException("{}", response=_response(401)), AccessDenied),
        (RatelimitBudgetExceeded("Rate limit budget exceeded!"), RetryableError),
        (requests.HTTPError(response=_response(500)), RetryableError),
        (requests.exceptions.InvalidURL("bad"), FatalError),
    ],
)
def test_o6_classify_zenpy_and_requests_exceptions(
    failure: BaseException, expected: type[PlatformError]
) -> None:
    assert type(classify(failure)) is expected


# ------------------------------------------------------------------------------ catalog


def _catalog_responses(mocked: responses.RequestsMock) -> None:
    fields = [
        {"id": 1, "type": "subject", "title": "Subject", "active": True, "removable": False},
        {"id": 2, "type": "status", "title": "Status", "active": True, "removable": False},
        {"id": 3, "type": "text", "title": "Order Number", "active": True, "removable": True},
        {
            "id": 4,
            "type": "tagger",
            "title": "Customer Tier",
            "active": True,
            "removable": True,
            "custom_field_options": [
                {"id": 41, "name": "VIP", "value": "tier_vip"},
                {"id": 42, "name": "Free", "value": "tier_free"},
            ],
        },
        {"id": 5, "type": "text", "title": "Retired", "active": False, "removable": True},
    ]
    mocked.add(
        responses.GET,
        f"{BASE}/api/v2/ticket_fields.json",
        json={"ticket_fields": fields, "next_page": None, "previous_page": None, "count": 5},
    )
    groups = [
        {"id": 10, "name": "Tier 1", "deleted": False},
        {"id": 11, "name": "Old Group", "deleted": True},
    ]
    mocked.add(
        responses.GET,
        f"{BASE}/api/v2/groups.json",
        json={"groups": groups, "meta": {"has_more": False}, "links": {"next": None}},
    )
    users = [
        {"id": 20, "name": "Ada Agent", "email": "ada@example.com", "role": "agent"},
        {"id": 21, "name": "Root Admin", "email": None, "role": "admin"},
        {
            "id": 22,
            "name": "Gone Agent",
            "email": "g@example.com",
            "role": "agent",
            "active": False,
        },
    ]
    mocked.add(
        responses.GET,
        f"{BASE}/api/v2/users.json",
        json={"users": users, "meta": {"has_more": False}, "links": {"next": None}},
    )


def test_refresh_catalog_keeps_custom_fields_live_groups_and_agents(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    _catalog_responses(mocked)
    catalog = connector.refresh_catalog()
    assert catalog.platform == "zendesk"
    assert catalog.source == f"live: {BASE}"
    assert catalog.refreshed_at is not None
    assert [(f.id, f.name, f.type) for f in catalog.fields] == [
        (3, "Order Number", "text"),
        (4, "Customer Tier", "tagger"),
    ]
    tier = catalog.field("Customer Tier")
    assert tier is not None
    assert [(o.name, o.value) for o in tier.options] == [("VIP", "tier_vip"), ("Free", "tier_free")]
    assert [(g.id, g.name) for g in catalog.groups] == [(10, "Tier 1")]
    assert [(u.id, u.name, u.email) for u in catalog.users] == [
        (20, "Ada Agent", "ada@example.com"),
        (21, "Root Admin", None),
    ]
    [users_url] = [str(c.request.url) for c in mocked.calls if "/users.json" in str(c.request.url)]
    assert "role%5B%5D=agent&role%5B%5D=admin" in users_url


def test_refresh_catalog_with_bad_credentials_is_access_denied(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(
        responses.GET,
        f"{BASE}/api/v2/ticket_fields.json",
        json={"error": "Couldn't authenticate you"},
        status=401,
    )
    with pytest.raises(AccessDenied):
        connector.refresh_catalog()


# ------------------------------------------------------------------------------ verification


@functools.cache
def verifier(secrets: str = f"{OLD_SECRET},{NEW_SECRET}") -> ZendeskConnector:
    """A connector without a base URL (no process-wide zenpy settings), for verify/parse."""
    return ZendeskConnector.from_env(mapping(), _env(BATON_ZENDESK_WEBHOOK_SECRETS=secrets))


BODY = b'{"type":"zen:event-type:ticket.status_changed","id":"e-1"}'


def signed(body: bytes = BODY, secret: str = NEW_SECRET, at: datetime = NOW) -> dict[str, str]:
    timestamp = zendesk_timestamp(at)
    return {SIG: zendesk_signature(secret, timestamp, body), TS: timestamp}


def verify(headers: dict[str, str], body: bytes = BODY, now: datetime = NOW) -> None:
    verifier().verify_webhook(headers, body, url="https://baton.example/webhooks/zendesk", now=now)


def test_a1_a_correctly_signed_body_verifies() -> None:
    verify(signed())


def test_a3_known_answer_vector_through_the_connector() -> None:
    connector = verifier("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==")
    headers = {
        SIG: "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM=",
        TS: "2021-03-25T05:09:27Z",
    }
    body = b'{"event":"ticket.updated","id":123}'
    when = datetime(2021, 3, 25, 5, 10, 0, tzinfo=UTC)
    connector.verify_webhook(headers, body, url="", now=when)
    with pytest.raises(VerificationError, match="signature does not match"):
        connector.verify_webhook(headers, body + b" ", url="", now=when)


def test_a1_one_byte_changed_is_rejected() -> None:
    with pytest.raises(VerificationError, match="signature does not match"):
        verify(signed(), BODY.replace(b"e-1", b"e-2"))


def test_a1_a_wrong_secret_is_rejected() -> None:
    with pytest.raises(VerificationError, match="signature does not match"):
        verify(signed(secret="not-configured"))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing x-zendesk-webhook-signature header"),
        ({SIG: "x"}, "missing x-zendesk-webhook-signature-timestamp header"),
        ({SIG: "not base64!", TS: "2026-11-21T10:00:00Z"}, "malformed x-zendesk-webhook-signature"),
        ({SIG: "A" * 43 + "=", TS: "yesterday"}, "malformed x-zendesk-webhook-signature-timestamp"),
        (
            {SIG: "A" * 43 + "=", TS: "2026-11-21T10:00:00"},
            "malformed x-zendesk-webhook-signature-timestamp",
        ),
        ({SIG: "A" * 43 + "=", TS: "9" * 300}, "malformed x-zendesk-webhook-signature-timestamp"),
    ],
)
def test_a1_missing_or_malformed_headers_are_rejected(
    headers: dict[str, str], message: str
) -> None:
    with pytest.raises(VerificationError, match=message):
        verify(headers)


def test_a4_window_edges() -> None:
    verify(signed(at=NOW - timedelta(seconds=299)))
    for offset in (301, -301):
        with pytest.raises(VerificationError, match="300 s window"):
            verify(signed(at=NOW - timedelta(seconds=offset)))


def test_a6_either_rotated_secret_verifies_and_a_removed_one_does_not() -> None:
    verify(signed(secret=OLD_SECRET))
    verify(signed(secret=NEW_SECRET))
    with pytest.raises(VerificationError):
        verifier(NEW_SECRET).verify_webhook(signed(secret=OLD_SECRET), BODY, url="", now=NOW)


def test_a1_no_configured_secret_verifies_nothing() -> None:
    connector = ZendeskConnector.from_env(mapping(), _env(BATON_ZENDESK_WEBHOOK_SECRETS=""))
    with pytest.raises(VerificationError, match="no Zendesk webhook signing secret"):
        connector.verify_webhook(signed(), BODY, url="", now=NOW)


_text = st.text(max_size=80)
_header_values = st.one_of(
    _text,
    st.just(signed()[SIG]),
    st.just(signed()[TS]),
    st.builds(lambda n: zendesk_timestamp(NOW + timedelta(seconds=n)), st.integers(-1000, 1000)),
)
_headers = st.dictionaries(
    st.one_of(st.sampled_from([SIG, TS, "content-type"]), _text), _header_values, max_size=4
)


@settings(max_examples=1000, deadline=None)
@given(headers=_headers, body=st.one_of(st.binary(max_size=300), st.just(BODY)))
def test_a5_any_headers_and_bytes_raise_only_verification_error(
    headers: dict[str, str], body: bytes
) -> None:
    with contextlib.suppress(VerificationError):
        verify(headers, body)


# ------------------------------------------------------------------------------ parsing

EXTERNAL_ID = "ho_2026_11_21_0001"


@functools.cache
def sandbox_events() -> dict[str, dict[str, Any]]:
    """Event webhooks exactly as sandbox/zendesk.py emits them, by ``kind[:variant]``."""
    catalog = load_catalog(catalog_path("zendesk"))
    clock = ManualClock(NOW)
    state = ZendeskState.from_catalog(catalog, clock=clock)
    data = {"subject": "s", "comment": {"body": "b", "public": False}, "external_id": EXTERNAL_ID}
    steps: list[tuple[str, Callable[[], object]]] = [
        ("created", lambda: state.create_ticket({**data, "group_id": TIER1}, "https://x")),
        ("solved", lambda: state.solve(1)),
        ("reopened", lambda: state.reopen(1)),
        ("transfer", lambda: state.reassign(1, group_id=BILLING)),
        ("assign", lambda: state.reassign(1, assignee_id=MAYA)),
        ("comment", lambda: state.agent_reply(1, "hello")),
        ("target", lambda: state.create_ticket({**data, "external_id": None}, "https://x")),
        ("merged", lambda: state.merge(2, {"ids": [1]})),
        ("deleted", lambda: state.delete(1)),
    ]
    events: dict[str, dict[str, Any]] = {}
    for label, step in steps:
        seen = set(state.webhooks.events)
        clock.advance(60)
        step()
        for event_id, event in state.webhooks.events.items():
            if event_id not in seen:
                kind = event["type"].removeprefix("zen:event-type:ticket.")
                events.setdefault(f"{kind}:{label}", event)
    return events


def _parse(event: dict[str, Any]) -> Any:
    [parsed] = verifier().parse_webhook(json.dumps(event).encode())
    assert parsed.event_id == event["id"]
    return parsed


@pytest.mark.parametrize(
    ("key", "outcome", "raw_status"),
    [
        ("created:created", "open", "new"),
        ("status_changed:solved", "resolved", "solved"),
        ("status_changed:reopened", "reopened", "open"),
        ("group_assignment_changed:transfer", "transferred", "open"),
        ("agent_assignment_changed:assign", "open", "open"),
        ("comment_added:comment", "open", "open"),
        ("soft_deleted:deleted", "deleted", "deleted"),
    ],
)
def test_parse_each_sandbox_event_type(key: str, outcome: str, raw_status: str) -> None:
    event = sandbox_events()[key]
    parsed = _parse(event)
    disposition = parsed.disposition
    assert disposition is not None
    assert disposition.outcome == outcome
    assert disposition.raw_status == raw_status
    assert disposition.handoff_id == EXTERNAL_ID
    assert disposition.ticket_id == event["detail"]["id"]
    assert disposition.ticket_url == "https://acme.zendesk.com/agent/tickets/1"
    assert disposition.source == "webhook"
    assert disposition.event_id == event["id"]
    assert disposition.occurred_at == datetime.fromisoformat(event["detail"]["updated_at"])
    assert parsed.occurred_at == disposition.occurred_at


def test_parse_carries_assignee_and_group_names_from_the_catalog() -> None:
    disposition = _parse(sandbox_events()["agent_assignment_changed:assign"]).disposition
    assert (disposition.assignee, disposition.group) == ("Maya Okafor", "Billing")


def test_an_id_the_catalog_does_not_know_stays_as_its_id_text() -> None:
    event = json.loads(json.dumps(sandbox_events()["agent_assignment_changed:assign"]))
    event["detail"].update(assignee_id="424242", group_id="939393")
    disposition = _parse(event).disposition
    assert (disposition.assignee, disposition.group) == ("424242", "939393")


def test_a_merged_ticket_is_merged_in_webhooks() -> None:
    event = sandbox_events()["status_changed:merged"]
    assert event["detail"]["status"] == "CLOSED"
    assert "closed_by_merge" in event["detail"]["tags"]
    assert _parse(event).disposition.outcome == "merged"


def test_a_closed_ticket_without_the_merge_tag_is_resolved_in_webhooks() -> None:
    event = json.loads(json.dumps(sandbox_events()["status_changed:merged"]))
    event["detail"]["tags"] = [t for t in event["detail"]["tags"] if t != "closed_by_merge"]
    assert _parse(event).disposition.outcome == "resolved"


def test_a_first_group_assignment_is_not_a_transfer() -> None:
    event = json.loads(json.dumps(sandbox_events()["group_assignment_changed:transfer"]))
    event["event"]["previous"] = None
    assert _parse(event).disposition.outcome == "open"


def test_an_external_id_that_is_not_a_handoff_id_is_not_linked() -> None:
    event = json.loads(json.dumps(sandbox_events()["status_changed:solved"]))
    event["detail"]["external_id"] = "not a handoff id!"
    assert _parse(event).disposition.handoff_id is None


def test_a_non_ticket_event_has_no_disposition() -> None:
    event = {"type": "zen:event-type:user.created", "id": "u-1", "time": "2026-11-21T10:00:00Z"}
    parsed = _parse(event)
    assert parsed.disposition is None


def test_trigger_style_body() -> None:
    body = {
        "ticket_id": "42",
        "status": "Solved",
        "external_id": EXTERNAL_ID,
        "updated_at": "2026-11-21T10:05Z",
        "update_stamp": "42-2026-11-21T10:05Z-Solved",
    }
    [parsed] = verifier().parse_webhook(json.dumps(body).encode())
    assert parsed.event_id == "42-2026-11-21T10:05Z-Solved"
    disposition = parsed.disposition
    assert disposition is not None
    assert (disposition.ticket_id, disposition.outcome, disposition.raw_status) == (
        "42",
        "resolved",
        "solved",
    )
    assert disposition.handoff_id == EXTERNAL_ID
    assert disposition.occurred_at == datetime(2026, 11, 21, 10, 5, tzinfo=UTC)


def test_trigger_body_without_stamp_or_external_id() -> None:
    body = {
        "ticket_id": 42,
        "status": "pending",
        "external_id": "",
        "updated_at": "2026-11-21T10:05:09Z",
    }
    [parsed] = verifier().parse_webhook(json.dumps(body).encode())
    assert parsed.event_id == "42:2026-11-21T10:05:09+00:00:pending"
    assert parsed.disposition is not None
    assert parsed.disposition.handoff_id is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"card 4111 1111 1111 1111 not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"card 4111 1111 1111 1111"',
        b'{"hello": "card 4111 1111 1111 1111"}',
        b'{"type": "zen:event-type:ticket.created", "id": "e"}',
        b'{"type": "zen:event-type:ticket.created", "id": "e", "time": "2026-11-21T10:00:00Z",'
        b' "detail": {"id": "card 4111 1111 1111 1111"}}',
        b'{"ticket_id": "4111 1111 1111 1111", "status": "open", "updated_at": "2026"}',
        b'{"ticket_id": "1", "status": "open", "updated_at": "2026-11-21T10:00:00"}',
        b"[" * 100_000,
    ],
)
def test_unreadable_bodies_are_payload_errors_without_body_text(body: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        verifier().parse_webhook(body)
    assert "4111" not in str(info.value)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_event_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            [
                "zen:event-type:ticket.status_changed",
                "zen:event-type:ticket.group_assignment_changed",
            ]
        )
        | st.text(max_size=20),
        "id": _json_values,
        "time": st.sampled_from(["2026-11-21T10:00:00Z", "2026-11-21T10:00:00", "x"])
        | _json_values,
        "detail": st.fixed_dictionaries(
            {},
            optional={
                "id": st.sampled_from(["1", 2, "x"]) | _json_values,
                "status": _json_values,
                "external_id": _json_values,
                "updated_at": _json_values,
            },
        ),
        "event": _json_values,
        "ticket_id": _json_values,
        "status": _json_values,
        "updated_at": _json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(document=st.one_of(_json_values, _event_like))
def test_parse_reads_or_raises_payload_error_whatever_the_json(document: Any) -> None:
    body = json.dumps(document).encode()
    with contextlib.suppress(PayloadError):
        for event in verifier().parse_webhook(body):
            assert event.event_id


# ------------------------------------------------------------------------------ changes (sync)


class CountingLimiter(RateLimiter):
    """A limiter that counts the tokens taken."""

    acquired = 0

    def acquire(self, max_wait: float | None = None) -> bool:
        self.acquired += 1
        return super().acquire(max_wait)


def _export_ticket(
    ticket_id: int, external_id: str | None, status: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "external_id": external_id,
        "status": status,
        "assignee_id": MAYA,
        "group_id": TIER1,
        "updated_at": "2026-11-21T09:30:00Z",
        "satisfaction_rating": {"score": "unoffered"},
        **extra,
    }


def _export_page(
    tickets: list[dict[str, Any]], after: str, end: bool, after_url: str | None = None
) -> dict[str, Any]:
    return {
        "tickets": tickets,
        "after_cursor": after,
        "after_url": after_url or f"{EXPORT}?cursor={after}",
        "before_cursor": None,
        "before_url": None,
        "end_of_stream": end,
    }


def _q(**params: str) -> Any:
    """A strict query matcher: ``params`` plus the ``include=metric_sets`` every page asks for."""
    return matchers.query_param_matcher({**params, "include": "metric_sets"})


METRIC = {
    "ticket_id": 1,
    "reply_time_in_minutes": {"calendar": 2, "business": 2},
    "full_resolution_time_in_minutes": {"calendar": 12, "business": 12},
    "reopens": 1,
    "group_stations": 3,
    "replies": 4,
}


def test_s4_export_pages_metrics_csat_empty_page_and_end_of_stream(
    zenpy_env: None, mocked: responses.RequestsMock
) -> None:
    limiter = CountingLimiter(600_000)
    connector = ZendeskConnector(
        ZendeskSettings.from_env(_env(BATON_ZENDESK_URL=BASE)),
        mapping(),
        limiter=limiter,
        clock=lambda: NOW,
    )
    since = NOW - timedelta(seconds=10)  # too recent: moved back to a minute ago
    first = [
        _export_ticket(1, EXTERNAL_ID, "solved", satisfaction_rating={"score": "good"}),
        _export_ticket(2, None, "open"),
    ]
    start = int((NOW - timedelta(seconds=60)).timestamp())
    mocked.add(
        responses.GET,
        EXPORT,
        json={
            **_export_page(
                first,
                "c1",
                False,
                f"{BASE}/api/v2/incremental/tickets/cursor.json?cursor=c1&per_page=2",
            ),
            "metric_sets": [METRIC, {**METRIC, "ticket_id": 2}],
        },
        match=[_q(start_time=str(start))],
    )
    mocked.add(
        responses.GET,
        EXPORT,
        json=_export_page([], "c2", False),
        match=[_q(cursor="c1", per_page="2")],  # the link followed, the sideload kept
    )
    mocked.add(
        responses.GET,
        EXPORT,
        json=_export_page([_export_ticket(3, "ho-3", "deleted")], "c3", True),
        match=[_q(cursor="c2")],
    )

    pages = list(connector.changes(None, since=since))

    assert [(p.cursor, p.done, p.examined) for p in pages] == [
        ("c1", False, 2),
        ("c2", False, 0),
        ("c3", True, 1),
    ]
    assert pages[0].skipped == ["2"]
    assert pages[2].skipped == []
    resolved = pages[0].dispositions[0]
    assert (resolved.handoff_id, resolved.outcome, resolved.source) == (
        EXTERNAL_ID,
        "resolved",
        "sync",
    )
    assert (resolved.first_response_seconds, resolved.resolution_seconds) == (120, 720)
    assert (resolved.reopen_count, resolved.transfer_count) == (1, 2)
    assert resolved.public_replies == 4
    assert (resolved.csat, resolved.csat_raw) == (1.0, "good")
    assert (resolved.assignee, resolved.group) == ("Maya Okafor", "Tier 1 Support")
    deleted = pages[2].dispositions[0]
    assert (deleted.handoff_id, deleted.outcome, deleted.first_response_seconds) == (
        "ho-3",
        "deleted",
        None,
    )
    assert deleted.public_replies is None
    # Metrics came with the pages: one request per page, none per ticket.
    assert not [c for c in mocked.calls if "metrics" in str(c.request.url)]
    assert connector.metrics_fallbacks == 0
    assert limiter.acquired == len(mocked.calls) == 3  # every request took a token


def _one_page_connector(
    mocked: responses.RequestsMock, tickets: list[dict[str, Any]], metric_sets: list[Any]
) -> ZendeskConnector:
    """A connector whose export from cursor ``c0`` is one last page of ``tickets``."""
    mocked.add(
        responses.GET,
        EXPORT,
        json={**_export_page(tickets, "c1", True), "metric_sets": metric_sets},
        match=[_q(cursor="c0")],
    )
    return ZendeskConnector(
        ZendeskSettings.from_env(_env(BATON_ZENDESK_URL=BASE)), mapping(), clock=lambda: NOW
    )


def test_a_ticket_whose_metric_set_is_missing_is_read_alone_and_counted(
    zenpy_env: None, mocked: responses.RequestsMock
) -> None:
    tickets = [
        _export_ticket(1, EXTERNAL_ID, "solved"),
        _export_ticket(5, "ho-5", "open", assignee_id=424242, group_id=939393),
    ]
    connector = _one_page_connector(mocked, tickets, [METRIC])
    alone = {**METRIC, "ticket_id": 5, "replies": 0, "reopens": 0, "group_stations": 1}
    mocked.add(
        responses.GET, f"{BASE}/api/v2/tickets/5/metrics.json", json={"ticket_metric": alone}
    )

    [page] = connector.changes("c0", since=NOW)

    by_ticket = {d.ticket_id: d for d in page.dispositions}
    assert (by_ticket["1"].public_replies, by_ticket["5"].public_replies) == (4, 0)
    assert connector.metrics_fallbacks == 1
    assert [c.request.url for c in mocked.calls if "metrics" in str(c.request.url)] == [
        f"{BASE}/api/v2/tickets/5/metrics.json"
    ]
    # Ids the catalog does not know stay as their id text.
    assert (by_ticket["5"].assignee, by_ticket["5"].group) == ("424242", "939393")


def test_a_closed_ticket_tagged_closed_by_merge_is_merged_in_sync(
    zenpy_env: None, mocked: responses.RequestsMock
) -> None:
    tickets = [
        _export_ticket(1, EXTERNAL_ID, "closed", tags=["baton", "closed_by_merge"]),
        _export_ticket(2, "ho-2", "closed", tags=["baton"]),
    ]
    connector = _one_page_connector(mocked, tickets, [METRIC, {**METRIC, "ticket_id": 2}])
    [page] = connector.changes("c0", since=NOW)
    assert [(d.ticket_id, d.outcome) for d in page.dispositions] == [
        ("1", "merged"),
        ("2", "resolved"),
    ]


def test_with_metric_sets_keeps_the_link_and_adds_the_sideload_once() -> None:
    from baton.connectors.zendesk.connector import with_metric_sets

    assert with_metric_sets(f"{EXPORT}?cursor=c1&per_page=2") == (
        f"{EXPORT}?cursor=c1&per_page=2&include=metric_sets"
    )
    assert with_metric_sets(f"{EXPORT}?cursor=c1&include=metric_sets") == (
        f"{EXPORT}?cursor=c1&include=metric_sets"
    )
    assert with_metric_sets(f"{EXPORT}?cursor=c1&include=users") == (
        f"{EXPORT}?cursor=c1&include=metric_sets%2Cusers"
    )


def test_the_first_run_keeps_its_start_time_when_the_export_gives_no_cursor(
    zenpy_env: None, mocked: responses.RequestsMock
) -> None:
    connector = ZendeskConnector(
        ZendeskSettings.from_env(_env(BATON_ZENDESK_URL=BASE)), mapping(), clock=lambda: NOW
    )
    since = NOW - timedelta(hours=2)
    start = int(since.timestamp())
    empty: dict[str, Any] = {
        "tickets": [],
        "after_cursor": None,
        "after_url": None,
        "end_of_stream": True,
    }
    mocked.add(
        responses.GET,
        EXPORT,
        json=empty,
        match=[_q(start_time=str(start))],
    )
    [page] = connector.changes(None, since=since)
    assert (page.cursor, page.done) == (f"start_time:{start}", True)
    [again] = connector.changes(page.cursor, since=NOW)  # resumes from the same start time
    assert again.cursor == f"start_time:{start}"


def test_changes_resumes_from_a_cursor(
    connector: ZendeskConnector, mocked: responses.RequestsMock
) -> None:
    mocked.add(
        responses.GET,
        EXPORT,
        json=_export_page([], "c9", True),
        match=[matchers.query_param_matcher({"cursor": "c8"}, strict_match=False)],
    )
    [page] = connector.changes("c8", since=NOW)
    assert (page.cursor, page.done, page.dispositions) == ("c9", True, [])


@pytest.mark.parametrize(
    ("score", "csat"), [("good", 1.0), ("bad", 0.0), ("offered", None), ("unoffered", None)]
)
def test_csat_normalization(score: str, csat: float | None) -> None:
    from baton.connectors.zendesk.sync import csat_fields

    assert csat_fields({"score": score}) == {"csat": csat, "csat_raw": score}
    assert csat_fields(None) == {"csat": None, "csat_raw": None}


# ------------------------------------------------------------------------------ C2


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


def test_c2_no_token_or_secret_in_repr_or_settings(connector: ZendeskConnector) -> None:
    for text in (
        repr(connector),
        str(connector),
        repr(connector.settings),
        str(connector.settings),
    ):
        assert TOKEN not in text
        assert OLD_SECRET not in text
        assert NEW_SECRET not in text


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "Couldn't authenticate you", "token": TOKEN}),
        (422, {**RECORD_INVALID, "echo": f"{TOKEN} {NEW_SECRET} my card is 4111 1111 1111 1111"}),
        (500, f"trace: {TOKEN} {NEW_SECRET}"),
    ],
)
def test_c2_no_secret_or_body_text_in_error_messages(
    connector: ZendeskConnector, mocked: responses.RequestsMock, status: int, body: Any
) -> None:
    _respond(mocked, responses.POST, TICKETS, status, body, {})
    _respond(mocked, responses.GET, TICKETS, status, body, {})
    calls: list[Callable[[], object]] = [
        lambda: connector.create_ticket(handoff()),
        lambda: connector.find_ticket("x"),
    ]
    for call in calls:
        with pytest.raises(PlatformError) as info:
            call()
        text = _all_text(info.value)
        assert TOKEN not in text
        assert NEW_SECRET not in text
        assert "4111" not in text
        assert "TIER-VALUE-SECRET" not in text


def test_c2_verification_errors_name_no_secret_or_signature() -> None:
    headers = signed(secret="attacker-secret")
    with pytest.raises(VerificationError) as info:
        verify(headers)
    text = _all_text(info.value)
    assert OLD_SECRET not in text
    assert NEW_SECRET not in text
    assert headers[SIG] not in text


def test_c2_zenpy_debug_logging_is_off() -> None:
    """zenpy logs request bodies and responses at DEBUG; the connector keeps that out."""
    assert not logging.getLogger("zenpy.lib.api").isEnabledFor(logging.DEBUG)


# ------------------------------------------------------------------------------ mappings resolve


@pytest.fixture
def live_zendesk() -> Iterator[tuple[ZendeskState, dict[str, str]]]:
    """The sandbox seeded from the shipped catalog, and the env pointing the connector at it."""
    state = ZendeskState.from_catalog(load_catalog(catalog_path("zendesk")))
    with ZendeskSandbox(state) as sandbox:
        yield state, {**sandbox_settings(sandbox), "COLUMNS": "200"}


def _resolve(mappings: Path, env: dict[str, str]) -> Result:
    args = ["mappings", "resolve", "--platform", "zendesk", "--mappings", str(mappings)]
    return CliRunner().invoke(cli_app, args, env=env)


@pytest.fixture
def mappings_copy(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, target)
    return target


def test_resolve_writes_the_catalog_and_rechecks_the_mapping(
    zenpy_env: None, live_zendesk: tuple[ZendeskState, dict[str, str]], mappings_copy: Path
) -> None:
    _, env = live_zendesk
    result = _resolve(mappings_copy, env)
    assert result.exit_code == 0, result.output
    assert "matches the new catalog" in result.output
    text = (mappings_copy / "catalogs" / "zendesk.json").read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text.startswith('{\n  "platform": "zendesk",')
    written = json.loads(text)
    assert written["source"] == f"live: {env['BATON_ZENDESK_URL']}"
    assert "pipelines" not in written
    assert "Lucía Fernández" in text  # UTF-8, not \u escapes
    shipped = load_catalog(catalog_path("zendesk"))
    assert [f.name for f in shipped.fields] == [f["name"] for f in written["fields"]]


def test_resolve_reports_a_group_renamed_on_the_platform(
    zenpy_env: None, live_zendesk: tuple[ZendeskState, dict[str, str]], mappings_copy: Path
) -> None:
    state, env = live_zendesk
    state.groups[BILLING].name = "Billing & Payments"
    result = _resolve(mappings_copy, env)
    assert result.exit_code == 2
    assert "unknown group 'Billing'" in result.output
    assert "1 problem(s)" in result.output


def test_resolve_repairs_a_mapping_whose_catalog_is_stale(
    zenpy_env: None, live_zendesk: tuple[ZendeskState, dict[str, str]], mappings_copy: Path
) -> None:
    _, env = live_zendesk
    catalog_file = mappings_copy / "catalogs" / "zendesk.json"
    stale = json.loads(catalog_file.read_text(encoding="utf-8"))
    stale["groups"] = [g for g in stale["groups"] if g["name"] != "Billing"]
    catalog_file.write_text(json.dumps(stale), encoding="utf-8")
    result = _resolve(mappings_copy, env)
    assert result.exit_code == 0, result.output


def test_resolve_config_errors_are_one_line_and_exit_2(
    zenpy_env: None, live_zendesk: tuple[ZendeskState, dict[str, str]], mappings_copy: Path
) -> None:
    _, env = live_zendesk
    result = _resolve(mappings_copy, {**env, "BATON_ZENDESK_TOKEN": ""})
    assert result.exit_code == 2
    assert result.output.strip() == "error: BATON_ZENDESK_TOKEN is not set"
    denied = _resolve(mappings_copy, {**env, "BATON_ZENDESK_TOKEN": "wrong-token-value"})
    assert denied.exit_code == 2
    assert "refused (401)" in denied.output
    assert "wrong-token-value" not in denied.output
