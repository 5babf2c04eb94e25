"""connectors.salesforce against ``responses`` (simple-salesforce speaks requests): the SDK's own
logins sent to the host override, the one-call create (composite), the look-up before a retry
and the note posted once (O3, O7), the session renewed once on 401, the classification table
(O6), Lightning links, settings and secrecy (C2), and Outbound Message webhooks."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.connectors import base
from baton.connectors.salesforce import auth
from baton.connectors.salesforce.connector import SalesforceConnector
from baton.connectors.salesforce.http import classify_status
from baton.core.errors import (
    AccessDenied,
    ConfigError,
    FatalError,
    IdempotencyConflict,
    NotConfigured,
    PlatformError,
    RetryableError,
    TargetRefused,
    VerificationError,
)
from baton.core.handoff import Handoff, parse_handoff
from baton.core.mapping import CompiledMapping, load_mapping
from baton.core.mapping.note import note_marker
from tests.support.paths import MAPPINGS, VIP_REFUND

OVERRIDE = "http://127.0.0.1:8999"
TOKEN_URL = f"{OVERRIDE}/services/oauth2/token"
API = f"{OVERRIDE}/services/data/v61.0"
COMPOSITE = f"{API}/composite"
QUERY = f"{API}/query/"
SECRET = "cs-never-print-me-8f3a"
ACCESS = "00Dxx!access-token"
ORG = "00D5g0000000001AAA"
CASE = "5005g00000AbCdEAAZ"
PATH_SECRET = "om-path-2b7c9d"


@functools.cache
def mapping() -> CompiledMapping:
    return load_mapping(MAPPINGS, "salesforce")


@functools.cache
def handoff() -> Handoff:
    return parse_handoff(VIP_REFUND.read_bytes())


def _env(**extra: str) -> dict[str, str]:
    return {
        "BATON_SALESFORCE_CLIENT_ID": "3MVG9-consumer-key",
        "BATON_SALESFORCE_CLIENT_SECRET": SECRET,
        "BATON_SALESFORCE_DOMAIN": "acme.my",
        "BATON_SALESFORCE_HOST_OVERRIDE": OVERRIDE,
        "BATON_SALESFORCE_ORGANIZATION_ID": ORG,
        "BATON_SALESFORCE_WEBHOOK_PATHS": f"old-path-1a2b,{PATH_SECRET}",
        **extra,
    }


def _connector(**extra: str) -> SalesforceConnector:
    return SalesforceConnector.from_env(mapping(), _env(**extra))


def _token(rsps: responses.RequestsMock, token: str = ACCESS) -> None:
    rsps.add(
        responses.POST,
        TOKEN_URL,
        json={"access_token": token, "instance_url": "https://acme.my.salesforce.com"},
    )


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _logged_in(rsps: responses.RequestsMock) -> SalesforceConnector:
    _token(rsps)
    connector = _connector()
    assert connector.client.sf.session_id == ACCESS
    rsps.calls.reset()
    return connector


# ---- logins through the SDK -------------------------------------------------------------------


def test_client_credentials_login_is_the_sdks_own_call_sent_to_the_override(rsps) -> None:
    _token(rsps)
    rsps.add(responses.GET, QUERY, json={"records": [], "done": True, "totalSize": 0})
    assert _connector().find_ticket(handoff().id) is None
    login, query = rsps.calls
    assert login.request.url == TOKEN_URL  # https://acme.my.salesforce.com/… rewritten
    assert parse_qs(login.request.body) == {"grant_type": ["client_credentials"]}
    assert login.request.headers["Authorization"].startswith("Basic ")
    assert query.request.url.startswith(QUERY)
    assert query.request.headers["Authorization"] == f"Bearer {ACCESS}"


def test_jwt_bearer_login_signs_an_assertion_for_the_sdks_audience(rsps, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "server.key"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    _token(rsps)
    env = _env(BATON_SALESFORCE_PRIVATE_KEY_FILE=str(pem), BATON_SALESFORCE_DOMAIN="login")
    env["BATON_SALESFORCE_USERNAME"] = "integration@acme.example"
    connector = SalesforceConnector.from_env(mapping(), env)
    assert connector.client.sf.session_id == ACCESS
    (login,) = rsps.calls
    assert login.request.url == TOKEN_URL
    form = parse_qs(login.request.body)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(
        form["assertion"][0],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://login.salesforce.com",
    )
    assert claims["iss"] == "3MVG9-consumer-key"
    assert claims["sub"] == "integration@acme.example"


def test_soap_password_login_warns_once_and_never_logs_the_password(rsps, caplog) -> None:
    auth._warned_soap_login = False
    env = {
        "BATON_SALESFORCE_USERNAME": "u@acme.example",
        "BATON_SALESFORCE_PASSWORD": "pw-never-print",
        "BATON_SALESFORCE_SECURITY_TOKEN": "tok-never-print",
        "BATON_SALESFORCE_HOST_OVERRIDE": OVERRIDE,
    }
    soap = (
        "<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'>"
        "<soapenv:Body><loginResponse><result><serverUrl>https://acme.my.salesforce.com/"
        "services/Soap/u/61.0</serverUrl><sessionId>sess</sessionId></result></loginResponse>"
        "</soapenv:Body></soapenv:Envelope>"
    )
    rsps.add(responses.POST, f"{OVERRIDE}/services/Soap/u/61.0", body=soap)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert SalesforceConnector.from_env(mapping(), env).client.sf.session_id == "sess"
    warnings = [r for r in caplog.records if "retiring" in r.getMessage()]
    assert len(warnings) == 1
    assert "never-print" not in caplog.text


# ---- create -----------------------------------------------------------------------------------


def _composite_ok(created: bool = True) -> dict[str, Any]:
    return {
        "compositeResponse": [
            {
                "body": {"id": CASE, "success": True, "errors": [], "created": created},
                "httpHeaders": {},
                "httpStatusCode": 201 if created else 200,
                "referenceId": "case",
            },
            {
                "body": {"id": "00a5g000001XyZAAA", "success": True, "errors": []},
                "httpHeaders": {},
                "httpStatusCode": 201,
                "referenceId": "request1",
            },
        ]
    }


def test_first_attempt_create_is_one_composite_call(rsps) -> None:
    connector = _logged_in(rsps)
    rsps.add(responses.POST, COMPOSITE, json=_composite_ok())
    ref = connector.create_ticket(handoff())
    (call,) = rsps.calls
    assert call.request.headers["Sforce-Auto-Assign"] == "FALSE"
    body = json.loads(call.request.body)
    assert body["allOrNone"] is True
    insert, comment = body["compositeRequest"]
    # A first attempt inserts: the Unique external id refuses a second case, never overwrites.
    assert insert["method"] == "POST"
    assert insert["url"] == "/services/data/v61.0/sobjects/Case"
    assert insert["body"]["Baton_Handoff_Id__c"] == handoff().id
    assert insert["referenceId"] == "case"
    assert insert["httpHeaders"] == {"Sforce-Auto-Assign": "FALSE"}
    assert insert["body"]["OwnerId"]
    assert comment["body"]["ParentId"] == "@{case.id}"
    assert comment["body"]["IsPublished"] is False
    assert comment["body"]["CommentBody"].startswith(note_marker(handoff().id, html=False))
    assert ref.ticket_id == CASE
    assert ref.created is True
    assert ref.url == f"{OVERRIDE}/lightning/r/Case/{CASE}/view"
    assert (ref.route, ref.target, ref.backup) == ("VIP billing", "user Maya Okafor", False)


def test_several_cases_with_the_handoff_id_is_an_idempotency_conflict(rsps) -> None:
    """O3: Salesforce's 300 (several matches) is never a success."""
    connector = _logged_in(rsps)
    matches = ["/services/data/v61.0/sobjects/Case/5005g00000AbCdEAAZ"] * 2
    halted = [{"errorCode": "PROCESSING_HALTED", "message": "halted"}]
    rsps.add(
        responses.POST,
        COMPOSITE,
        json={
            "compositeResponse": [
                {"body": matches, "httpStatusCode": 300, "referenceId": "case"},
                {"body": halted, "httpStatusCode": 400, "referenceId": "request1"},
            ]
        },
    )
    with pytest.raises(IdempotencyConflict):
        connector.create_ticket(handoff())


def test_a_refused_owner_is_target_refused_with_the_backup_label(rsps) -> None:
    connector = _logged_in(rsps)
    refused = [{"errorCode": "INACTIVE_OWNER_OR_USER", "message": "inactive", "fields": []}]
    halted = [{"errorCode": "PROCESSING_HALTED", "message": "halted"}]
    rsps.add(
        responses.POST,
        COMPOSITE,
        json={
            "compositeResponse": [
                {"body": refused, "httpStatusCode": 400, "referenceId": "case"},
                {"body": halted, "httpStatusCode": 400, "referenceId": "request1"},
            ]
        },
    )
    with pytest.raises(TargetRefused) as refusal:
        connector.create_ticket(handoff())
    assert refusal.value.backup == "queue General Support"
    assert refusal.value.fields == ("OwnerId",)


def _found(rsps: responses.RequestsMock, comments: list[str]) -> None:
    def query(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        soql = parse_qs(urlsplit(request.url).query)["q"][0]
        if "FROM CaseComment" in soql:
            assert f"ParentId = '{CASE}'" in soql
            rows = [{"CommentBody": text} for text in comments]
        else:
            assert f"Baton_Handoff_Id__c = '{handoff().id}'" in soql
            rows = [{"Id": CASE, "OwnerId": "005000000000001AAA"}]
        return 200, {}, json.dumps({"records": rows, "done": True, "totalSize": len(rows)})

    rsps.add_callback(responses.GET, QUERY, callback=query)
    rsps.add(responses.POST, f"{API}/sobjects/CaseComment", json={"id": "00a1", "success": True})


def test_a_retry_finds_the_case_and_does_not_post_the_note_twice(rsps) -> None:
    """O7: the earlier attempt's note carries the marker; no second note."""
    connector = _logged_in(rsps)
    _found(rsps, ["other text", note_marker(handoff().id, html=False) + "context"])
    ref = connector.create_ticket(handoff(), first_attempt=False)
    assert ref.ticket_id == CASE
    assert ref.created is False
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]


def test_a_retry_posts_the_missing_note_once_on_the_found_case(rsps) -> None:
    connector = _logged_in(rsps)
    _found(rsps, ["a comment by an agent"])
    connector.create_ticket(handoff(), first_attempt=False)
    posts = [c for c in rsps.calls if c.request.method == "POST"]
    assert len(posts) == 1
    comment = json.loads(posts[0].request.body)
    assert comment["ParentId"] == CASE
    assert comment["IsPublished"] is False


def _duplicate_refused(rsps: responses.RequestsMock) -> None:
    duplicate = [
        {
            "errorCode": "DUPLICATE_VALUE",
            "message": "duplicate value found: Baton_Handoff_Id__c",
            "fields": ["Baton_Handoff_Id__c"],
        }
    ]
    halted = [{"errorCode": "PROCESSING_HALTED", "message": "halted"}]
    answer = {
        "compositeResponse": [
            {"body": duplicate, "httpStatusCode": 400, "referenceId": "case"},
            {"body": halted, "httpStatusCode": 400, "referenceId": "request1"},
        ]
    }
    rsps.add(responses.POST, COMPOSITE, json=answer)


def test_the_same_handoff_sent_again_is_the_case_it_made(rsps) -> None:
    """O2 on a first attempt: the insert is refused as a duplicate; the case's note is this
    handoff's, word for word, so that case is the answer and nothing is written."""
    connector = _logged_in(rsps)
    _duplicate_refused(rsps)
    note = connector.plan_for(handoff()).requests[1].json["CommentBody"]
    _found(rsps, [note])
    ref = connector.create_ticket(handoff())
    assert (ref.ticket_id, ref.created) == (CASE, False)
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "GET"]


def test_another_handoff_under_the_same_id_is_a_conflict_and_overwrites_nothing(rsps) -> None:
    """O3-key: the insert is refused and the found case's note is another handoff's."""
    connector = _logged_in(rsps)
    _duplicate_refused(rsps)
    _found(rsps, [note_marker(handoff().id, html=False) + "an earlier, different body"])
    with pytest.raises(IdempotencyConflict):
        connector.create_ticket(handoff())
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "GET"]  # no write


def test_a_retry_that_finds_nothing_creates_with_the_composite(rsps) -> None:
    connector = _logged_in(rsps)
    rsps.add(responses.GET, QUERY, json={"records": [], "done": True, "totalSize": 0})
    rsps.add(responses.POST, COMPOSITE, json=_composite_ok())
    assert connector.create_ticket(handoff(), first_attempt=False).ticket_id == CASE
    assert len(rsps.calls) == 2


def test_an_expired_session_is_renewed_once_and_the_request_sent_again(rsps) -> None:
    connector = _logged_in(rsps)
    _token(rsps, token="00Dxx!fresh")
    expired = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
    rsps.add(responses.POST, COMPOSITE, json=expired, status=401)
    rsps.add(responses.POST, COMPOSITE, json=_composite_ok())
    assert connector.create_ticket(handoff()).ticket_id == CASE
    first, login, second = rsps.calls
    assert login.request.url == TOKEN_URL
    assert first.request.body == second.request.body
    assert second.request.headers["Authorization"] == "Bearer 00Dxx!fresh"
    assert connector.client.logins == 2


def test_a_session_refused_after_renewal_is_access_denied_after_one_login(rsps) -> None:
    connector = _logged_in(rsps)
    _token(rsps)
    expired = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
    rsps.add(responses.POST, COMPOSITE, json=expired, status=401)
    with pytest.raises(AccessDenied):
        connector.create_ticket(handoff())
    assert connector.client.logins == 2


def test_every_call_has_a_timeout(rsps) -> None:
    connector = _logged_in(rsps)
    rsps.add(responses.POST, COMPOSITE, body=requests.Timeout())
    with pytest.raises(RetryableError):
        connector.create_ticket(handoff())
    assert connector.client.adapter.timeout == 30.0


def test_sforce_limit_info_is_read(rsps) -> None:
    connector = _logged_in(rsps)
    rsps.add(
        responses.POST,
        COMPOSITE,
        json=_composite_ok(),
        headers={"Sforce-Limit-Info": "api-usage=18/5000"},
    )
    connector.create_ticket(handoff())
    assert connector.client.adapter.api_usage == (18, 5000)


# ---- classification (O6) ----------------------------------------------------------------------

CODES = st.sampled_from(
    [None, "INVALID_FIELD", "REQUEST_LIMIT_EXCEEDED", "INSUFFICIENT_ACCESS", "NOT_FOUND"]
)


@given(status=st.integers(300, 599), code=CODES)
@settings(max_examples=300, deadline=None)
def test_classification_table(status: int, code: str | None) -> None:
    body = [{"errorCode": code, "message": "m", "fields": []}] if code else None
    error = classify_status(status, body)
    assert isinstance(error, PlatformError)
    if status >= 500:
        assert isinstance(error, RetryableError)
    elif status == 300:
        assert isinstance(error, IdempotencyConflict)
    elif code == "REQUEST_LIMIT_EXCEEDED":
        assert isinstance(error, RetryableError)
        assert error.retry_after
    elif status in (401, 403):
        assert isinstance(error, AccessDenied)
    else:
        assert type(error) is FatalError


def test_validation_errors_name_fields_but_never_values() -> None:
    body = [{"errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["Priority"]}]
    error = classify_status(400, body)
    assert type(error) is FatalError
    assert "Priority" in str(error)
    owner = [{"errorCode": "INVALID_CROSS_REFERENCE_KEY", "fields": ["OwnerId"]}]
    assert isinstance(classify_status(400, owner), TargetRefused)


# ---- settings, links, secrecy -----------------------------------------------------------------


def test_no_salesforce_setting_is_not_configured() -> None:
    with pytest.raises(NotConfigured):
        base.connector_for("salesforce", mapping(), {"BATON_ZENDESK_TOKEN": "x"})


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("BATON_SALESFORCE_CLIENT_ID", "BATON_SALESFORCE_CLIENT_ID"),
        ("BATON_SALESFORCE_CLIENT_SECRET", "BATON_SALESFORCE_PRIVATE_KEY_FILE"),
    ],
)
def test_a_half_configured_login_names_the_setting(missing: str, named: str) -> None:
    env = _env()
    del env[missing]
    with pytest.raises(ConfigError, match=named) as error:
        SalesforceConnector.from_env(mapping(), env)
    assert SECRET not in str(error.value)


def test_client_credentials_need_a_my_domain() -> None:
    with pytest.raises(ConfigError, match="My Domain"):
        SalesforceConnector.from_env(mapping(), _env(BATON_SALESFORCE_DOMAIN="login"))


def test_secrets_stay_out_of_repr() -> None:
    connector = _connector()
    assert SECRET not in repr(connector)
    assert SECRET not in repr(connector.settings)
    assert PATH_SECRET not in repr(connector.settings)


def test_the_agent_link_is_the_lightning_page() -> None:
    env = _env(BATON_SALESFORCE_INSTANCE_URL="https://acme.my.salesforce.com")
    del env["BATON_SALESFORCE_HOST_OVERRIDE"]
    connector = SalesforceConnector.from_env(mapping(), env)
    assert (
        connector.ticket_url(CASE) == f"https://acme.my.salesforce.com/lightning/r/Case/{CASE}/view"
    )


# ---- Outbound Messages ------------------------------------------------------------------------


def _message(fields: str, org: str = ORG) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org}</OrganizationId><ActionId>04k5g0000000001AAA</ActionId>"
        "<SessionId xsi:nil='true'/><EnterpriseUrl>https://acme.my.salesforce.com/e</EnterpriseUrl>"
        "<PartnerUrl>https://acme.my.salesforce.com/p</PartnerUrl>"
        "<Notification><Id>04l5g0000000001AAA</Id>"
        '<sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{CASE}</sf:Id>{fields}</sObject></Notification>"
        "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


FULL = (
    "<sf:Baton_Handoff_Id__c>ho_2026_11_21_0001</sf:Baton_Handoff_Id__c>"
    "<sf:Status>Closed</sf:Status><sf:IsClosed>true</sf:IsClosed>"
    "<sf:OwnerId>00G5g0000000009AAA</sf:OwnerId>"
    "<sf:CreatedDate>2026-11-21T10:00:00.000Z</sf:CreatedDate>"
    "<sf:ClosedDate>2026-11-21T12:30:00.000Z</sf:ClosedDate>"
    "<sf:SystemModstamp>2026-11-21T12:30:01.000Z</sf:SystemModstamp>"
)


def test_outbound_message_needs_the_secret_path_and_the_org() -> None:
    connector = _connector()
    now = None
    url = f"https://baton.example/webhooks/salesforce/{PATH_SECRET}"
    connector.verify_webhook({}, _message(FULL), url=url, now=now)  # type: ignore[arg-type]
    connector.verify_webhook(
        {}, _message(FULL), url=url.replace(PATH_SECRET, "old-path-1a2b"), now=now
    )  # type: ignore[arg-type]
    with pytest.raises(VerificationError):
        connector.verify_webhook({}, _message(FULL), url=url + "x", now=now)  # type: ignore[arg-type]
    other = _message(FULL, org="00D5g0000000002AAA")
    with pytest.raises(VerificationError):
        connector.verify_webhook({}, other, url=url, now=now)  # type: ignore[arg-type]


def test_outbound_message_becomes_events_with_dispositions() -> None:
    connector = _connector()
    (event,) = connector.parse_webhook(_message(FULL))
    assert event.event_id == "04l5g0000000001AAA"
    disposition = event.disposition
    assert disposition is not None
    assert disposition.outcome == "resolved"
    assert disposition.handoff_id == "ho_2026_11_21_0001"
    assert disposition.resolution_seconds == 9000
    assert disposition.group == "General Support"
    assert disposition.source == "webhook"
    reply = connector.acknowledge(1, 0)
    assert reply is not None
    assert b"<Ack>true</Ack>" in reply.body
    fault = connector.refusal(401, "unknown webhook path")
    assert fault is not None
    assert fault.status == 401
    assert b"unknown webhook path" not in fault.body


def test_outbound_message_missing_fields_gets_no_disposition_and_no_call() -> None:
    stamp = "<sf:SystemModstamp>2026-11-21T12:30:01.000Z</sf:SystemModstamp>"
    (event,) = _connector().parse_webhook(_message(stamp))
    assert event.disposition is None
