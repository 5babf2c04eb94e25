"""The Salesforce sandbox's REST surface, over HTTP as a client sees it: OAuth token flows
(also through simple-salesforce's own login), upsert, composite, collections, validation
errors, limits, assignment rules, sessions, deleted records and record ids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from baton.core.catalog import load_catalog
from baton.sandbox.clock import ManualClock
from baton.sandbox.salesforce import SalesforceSandbox, SalesforceState, id_suffix, to18

CATALOG = Path(__file__).parents[2] / "mappings" / "catalogs" / "salesforce.json"
V = "61.0"
DATA = f"/services/data/v{V}"
EXT = "Baton_Handoff_Id__c"
TIER1 = "00G5g0000000001AAA"  # the catalog's "Tier 1 Support"
MAYA = "0055g0000000001AAA"  # the catalog's "Maya Okafor"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _key_pair() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


PRIVATE_KEY, PUBLIC_KEY = _key_pair()
OTHER_KEY, _ = _key_pair()


@dataclass
class Org:
    """A served sandbox and an authenticated session on its REST API."""

    sandbox: SalesforceSandbox
    state: SalesforceState
    api: requests.Session
    clock: ManualClock

    @property
    def base(self) -> str:
        return self.sandbox.base_url

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        """A REST call with the session's token."""
        return self.api.request(method, self.base + path, json=body, headers=headers, timeout=5)


def _token(base: str, state: SalesforceState) -> str:
    answer = requests.post(
        f"{base}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(state.client_id, state.client_secret),
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.fixture
def org(request: pytest.FixtureRequest) -> Iterator[Org]:
    options: dict[str, Any] = getattr(request, "param", {})
    clock = ManualClock(T0)
    state = SalesforceState.from_catalog(
        load_catalog(CATALOG), clock=clock, jwt_public_key=PUBLIC_KEY, **options
    )
    with SalesforceSandbox(state) as sandbox:
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {_token(sandbox.base_url, state)}"
        yield Org(sandbox, state, api, clock)


# ---- OAuth ---------------------------------------------------------------------------------


def test_client_credentials_token_answer(org: Org) -> None:
    answer = requests.post(
        f"{org.base}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(org.state.client_id, org.state.client_secret),
        timeout=5,
    ).json()
    assert set(answer) >= {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert answer["instance_url"] == "https://baton-sandbox.my.salesforce.com"
    assert answer["token_type"] == "Bearer"
    assert answer["issued_at"] == str(int(T0.timestamp() * 1000))


def test_client_credentials_wrong_secret_is_refused(org: Org) -> None:
    answer = requests.post(
        f"{org.base}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(org.state.client_id, "wrong"),
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"


def _assertion(org: Org, key: bytes = PRIVATE_KEY, **claims: Any) -> str:
    payload = {
        "iss": org.state.client_id,
        "sub": "maya.okafor@baton-sandbox.example",
        "aud": "https://login.salesforce.com",
        "exp": int((T0 + timedelta(minutes=3)).timestamp()),
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256")


def _jwt_login(org: Org, assertion: str) -> requests.Response:
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    return requests.post(f"{org.base}/services/oauth2/token", data=form, timeout=5)


def test_jwt_bearer_good_assertion_opens_a_session_for_its_subject(org: Org) -> None:
    answer = _jwt_login(org, _assertion(org))
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"].endswith(f"/{MAYA}")


@pytest.mark.parametrize(
    ("key", "claims", "error"),
    [
        (OTHER_KEY, {}, "invalid_grant"),
        (PRIVATE_KEY, {"exp": int((T0 - timedelta(seconds=1)).timestamp())}, "invalid_grant"),
        (PRIVATE_KEY, {"aud": "https://evil.example.com"}, "invalid_grant"),
        (PRIVATE_KEY, {"iss": "someone-else"}, "invalid_client_id"),
        (PRIVATE_KEY, {"sub": "nobody@example.com"}, "invalid_grant"),
    ],
    ids=["bad-signature", "expired", "wrong-aud", "wrong-iss", "unknown-sub"],
)
def test_jwt_bearer_bad_assertions_are_refused(
    org: Org, key: bytes, claims: dict[str, Any], error: str
) -> None:
    answer = _jwt_login(org, _assertion(org, key, **claims))
    assert answer.status_code == 400
    assert answer.json()["error"] == error


class ToSandbox(HTTPAdapter):
    """Sends every https://*.salesforce.com request to the sandbox's http:// base URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        assert (parts.hostname or "").endswith(".salesforce.com"), request.url
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


def _sdk_session(org: Org) -> requests.Session:
    session = requests.Session()
    session.mount("https://", ToSandbox(org.base))
    return session


def test_simple_salesforce_client_credentials_login_and_calls(org: Org) -> None:
    sf = Salesforce(
        consumer_key=org.state.client_id,
        consumer_secret=org.state.client_secret,
        domain="baton-sandbox.my",
        session=_sdk_session(org),
        version=V,
    )
    created = sf.Case.create({"Subject": "From the SDK", "Priority": "High"})
    assert created["success"] is True
    status = sf.Case.upsert(f"{EXT}/h-sdk", {"Subject": "Upserted"})
    assert status == 201
    rows = sf.query("SELECT Id, Subject FROM Case ORDER BY SystemModstamp, Id")["records"]
    assert [r["Subject"] for r in rows] == ["From the SDK", "Upserted"]
    assert sf.api_usage["api-usage"].used >= 3


def test_simple_salesforce_jwt_login(org: Org) -> None:
    org.clock.set(datetime.now(UTC))  # the SDK stamps exp from the real time
    sf = Salesforce(
        username="maya.okafor@baton-sandbox.example",
        consumer_key=org.state.client_id,
        privatekey=PRIVATE_KEY.decode(),
        domain="login",
        session=_sdk_session(org),
        version=V,
    )
    assert sf.query("SELECT Id FROM Group WHERE Type = 'Queue'")["totalSize"] == 9


# ---- upsert --------------------------------------------------------------------------------


def test_upsert_creates_then_updates(org: Org) -> None:
    first = org.call("PATCH", f"{DATA}/sobjects/Case/{EXT}/h-1", {"Subject": "One"})
    assert first.status_code == 201
    body = first.json()
    assert body["success"] is True
    assert body["created"] is True
    assert body["errors"] == []
    assert body["id"].startswith("500")
    assert len(body["id"]) == 18
    second = org.call("PATCH", f"{DATA}/sobjects/Case/{EXT}/h-1", {"Subject": "Two"})
    assert second.status_code == 200
    assert second.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    case = org.call("GET", f"{DATA}/sobjects/Case/{body['id']}?fields=Subject,{EXT}").json()
    assert case["Subject"] == "Two"
    assert case[EXT] == "h-1"


@pytest.mark.parametrize("org", [{"external_id_unique": False}], indirect=True)
def test_upsert_with_several_matches_is_300_and_writes_nothing(org: Org) -> None:
    for _ in range(2):
        org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "Dup", EXT: "h-dup"})
    answer = org.call("PATCH", f"{DATA}/sobjects/Case/{EXT}/h-dup", {"Subject": "Changed"})
    assert answer.status_code == 300
    assert len(answer.json()) == 2
    assert all(url.startswith(f"{DATA}/sobjects/Case/500") for url in answer.json())
    subjects = org.call("GET", f"{DATA}/query?q=SELECT+Subject+FROM+Case").json()["records"]
    assert {r["Subject"] for r in subjects} == {"Dup"}


def test_upsert_on_a_field_that_is_not_an_external_id_is_404(org: Org) -> None:
    answer = org.call("PATCH", f"{DATA}/sobjects/Case/Subject/x", {"Priority": "Low"})
    assert answer.status_code == 404
    assert answer.json()[0]["errorCode"] == "NOT_FOUND"


def test_unique_external_id_refuses_a_second_insert(org: Org) -> None:
    org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "A", EXT: "h-u"})
    answer = org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "B", EXT: "h-u"})
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "DUPLICATE_VALUE"


# ---- validation ----------------------------------------------------------------------------


def test_restricted_picklist_refuses_an_unknown_value(org: Org) -> None:
    answer = org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "x", "Priority": "Urgent"})
    assert answer.status_code == 400
    error = answer.json()[0]
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["fields"] == ["Priority"]


def test_describe_lists_the_catalog_picklist_values(org: Org) -> None:
    described = org.call("GET", f"{DATA}/sobjects/Case/describe").json()
    fields = {f["name"]: f for f in described["fields"]}
    assert [v["value"] for v in fields["Priority"]["picklistValues"]] == ["High", "Medium", "Low"]
    assert fields[EXT]["externalId"] is True
    assert fields[EXT]["unique"] is True
    assert fields["IsClosed"]["updateable"] is False


def test_comment_body_over_4000_bytes_is_string_too_long(org: Org) -> None:
    case_id = org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "x"}).json()["id"]
    ok = org.call(
        "POST",
        f"{DATA}/sobjects/CaseComment",
        {"ParentId": case_id, "CommentBody": "é" * 2000, "IsPublished": False},
    )
    assert ok.status_code == 201
    too_long = org.call(
        "POST", f"{DATA}/sobjects/CaseComment", {"ParentId": case_id, "CommentBody": "é" * 2001}
    )
    assert too_long.status_code == 400
    assert too_long.json()[0]["errorCode"] == "STRING_TOO_LONG"


def test_read_only_and_unknown_fields_are_refused(org: Org) -> None:
    read_only = org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "x", "IsClosed": True})
    assert read_only.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    unknown = org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "x", "Nope__c": 1})
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"


def test_closed_status_sets_is_closed_and_closed_date(org: Org) -> None:
    case_id = org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "x"}).json()["id"]
    org.clock.advance(60)
    org.call("PATCH", f"{DATA}/sobjects/Case/{case_id}", {"Status": "Closed"})
    case = org.call("GET", f"{DATA}/sobjects/Case/{case_id}").json()
    assert case["IsClosed"] is True
    assert case["ClosedDate"] == "2026-03-02T09:01:00.000+0000"


# ---- composite -----------------------------------------------------------------------------


def _composite(org: Org, all_or_none: bool, comment: str) -> requests.Response:
    return org.call(
        "POST",
        f"{DATA}/composite",
        {
            "allOrNone": all_or_none,
            "compositeRequest": [
                {
                    "method": "PATCH",
                    "url": f"{DATA}/sobjects/Case/{EXT}/h-c",
                    "referenceId": "case",
                    "body": {"Subject": "Composite"},
                },
                {
                    "method": "POST",
                    "url": f"{DATA}/sobjects/CaseComment",
                    "referenceId": "note",
                    "body": {
                        "ParentId": "@{case.id}",
                        "CommentBody": comment,
                        "IsPublished": False,
                    },
                },
            ],
        },
    )


def test_composite_resolves_references(org: Org) -> None:
    answer = _composite(org, True, "internal note")
    assert answer.status_code == 200
    case, note = answer.json()["compositeResponse"]
    assert (case["httpStatusCode"], case["referenceId"]) == (201, "case")
    assert note["httpStatusCode"] == 201
    rows = org.call("GET", f"{DATA}/query?q=SELECT+ParentId+FROM+CaseComment").json()["records"]
    assert rows[0]["ParentId"] == case["body"]["id"]


def test_composite_all_or_none_rolls_everything_back(org: Org) -> None:
    answer = _composite(org, True, "x" * 4001)
    case, note = answer.json()["compositeResponse"]
    assert note["httpStatusCode"] == 400
    assert note["body"][0]["errorCode"] == "STRING_TOO_LONG"
    assert case["httpStatusCode"] == 400
    assert case["body"][0]["errorCode"] == "PROCESSING_HALTED"
    total = org.call("GET", f"{DATA}/query?q=SELECT+Id+FROM+Case").json()["totalSize"]
    assert total == 0


def test_composite_without_all_or_none_keeps_what_succeeded(org: Org) -> None:
    _composite(org, False, "x" * 4001)
    assert org.call("GET", f"{DATA}/query?q=SELECT+Id+FROM+Case").json()["totalSize"] == 1


def test_composite_over_25_subrequests_is_refused(org: Org) -> None:
    sub = {"method": "GET", "url": f"{DATA}/sobjects/Case/describe", "referenceId": "d"}
    answer = org.call("POST", f"{DATA}/composite", {"compositeRequest": [sub] * 26})
    assert answer.status_code == 400


def _records(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"attributes": {"type": "Case"}, EXT: f"h-{i}", "Subject": f"Case {i}"}
        for i in range(start, start + count)
    ]


def test_collection_upsert_of_200_records(org: Org) -> None:
    path = f"{DATA}/composite/sobjects/Case/{EXT}"
    first = org.call("PATCH", path, {"allOrNone": False, "records": _records(200)})
    assert first.status_code == 200
    assert all(r["success"] and r["created"] for r in first.json())
    again = org.call("PATCH", path, {"allOrNone": False, "records": _records(200)})
    assert not any(r["created"] for r in again.json())
    assert org.call("GET", f"{DATA}/query?q=SELECT+Id+FROM+Case").json()["totalSize"] == 200


def test_collection_of_201_records_is_refused(org: Org) -> None:
    answer = org.call("PATCH", f"{DATA}/composite/sobjects/Case/{EXT}", {"records": _records(201)})
    assert answer.status_code == 400
    create = org.call("POST", f"{DATA}/composite/sobjects", {"records": _records(201)})
    assert create.status_code == 400
    assert org.call("GET", f"{DATA}/query?q=SELECT+Id+FROM+Case").json()["totalSize"] == 0


def test_collection_create_all_or_none_rolls_back(org: Org) -> None:
    records = [*_records(2), {"attributes": {"type": "Case"}, "Priority": "Bogus"}]
    answer = org.call("POST", f"{DATA}/composite/sobjects", {"allOrNone": True, "records": records})
    results = answer.json()
    assert [r["success"] for r in results] == [False, False, False]
    assert results[2]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert org.call("GET", f"{DATA}/query?q=SELECT+Id+FROM+Case").json()["totalSize"] == 0


# ---- limits, assignment, sessions ----------------------------------------------------------


@pytest.mark.parametrize("org", [{"daily_limit": 3}], indirect=True)
def test_limit_info_on_every_answer_and_the_daily_limit(org: Org) -> None:
    seen = [org.call("GET", f"{DATA}/sobjects/Case/describe") for _ in range(3)]
    assert [r.headers["Sforce-Limit-Info"] for r in seen] == [
        "api-usage=1/3",
        "api-usage=2/3",
        "api-usage=3/3",
    ]
    over = org.call("GET", f"{DATA}/sobjects/Case/describe")
    assert over.status_code == 403
    assert over.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert over.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    org.clock.advance(24 * 3600)  # a new day (and a new session: the old one timed out)
    org.api.headers["Authorization"] = f"Bearer {_token(org.base, org.state)}"
    assert org.call("GET", f"{DATA}/sobjects/Case/describe").status_code == 200


@pytest.mark.parametrize("org", [{"assignment_queue": "General Support"}], indirect=True)
def test_assignment_rules_overwrite_owner_unless_auto_assign_false(org: Org) -> None:
    general = org.state.queue_by_name("General Support")
    ruled = org.call("PATCH", f"{DATA}/sobjects/Case/{EXT}/h-a", {"OwnerId": TIER1})
    kept = org.call(
        "PATCH",
        f"{DATA}/sobjects/Case/{EXT}/h-b",
        {"OwnerId": TIER1},
        **{"Sforce-Auto-Assign": "false"},
    )
    owners = {}
    for answer in (ruled, kept):
        case_id = answer.json()["id"]
        owners[case_id] = org.call("GET", f"{DATA}/sobjects/Case/{case_id}").json()["OwnerId"]
    assert list(owners.values()) == [general, TIER1]


def test_expired_session_is_401_invalid_session_id(org: Org) -> None:
    org.clock.advance(2 * 3600 + 1)
    answer = org.call("GET", f"{DATA}/sobjects/Case/describe")
    assert answer.status_code == 401
    assert answer.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_activity_keeps_a_session_alive(org: Org) -> None:
    for _ in range(3):
        org.clock.advance(3600)
        assert org.call("GET", f"{DATA}/sobjects/Case/describe").status_code == 200


# ---- deleted -------------------------------------------------------------------------------


def test_deleted_lists_deletions_within_the_window(org: Org) -> None:
    case_id = org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "gone"}).json()["id"]
    org.clock.advance(60)
    assert org.call("DELETE", f"{DATA}/sobjects/Case/{case_id}").status_code == 204
    start = (T0 - timedelta(days=1)).isoformat()
    end = (T0 + timedelta(hours=1)).isoformat()
    answer = org.api.get(
        f"{org.base}{DATA}/sobjects/Case/deleted/", params={"start": start, "end": end}, timeout=5
    ).json()
    assert answer["deletedRecords"] == [
        {"id": case_id, "deletedDate": "2026-03-02T09:01:00.000+0000"}
    ]
    too_old = org.api.get(
        f"{org.base}{DATA}/sobjects/Case/deleted/",
        params={"start": (T0 - timedelta(days=20)).isoformat(), "end": end},
        timeout=5,
    )
    assert too_old.status_code == 400


# ---- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("a0RE000000IJmcN", "a0RE000000IJmcNMAT"),
        ("a01M00000062mPg", "a01M00000062mPgIAI"),
        ("001M000000qfPyS", "001M000000qfPySIAU"),
        ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
        ("aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaAAA"),
        ("AbCdEfGhIjKlMnO", "AbCdEfGhIjKlMnOVKV"),
        ("aBcDEfgHIJKLMNO", "aBcDEfgHIJKLMNO025"),
    ],
)
def test_15_to_18_conversion_matches_known_pairs(id15: str, id18: str) -> None:
    assert to18(id15) == id18
    assert id_suffix(id15) == id18[15:]


def test_new_case_ids_carry_a_valid_suffix(org: Org) -> None:
    case_id = org.call("POST", f"{DATA}/sobjects/Case", {"Subject": "x"}).json()["id"]
    assert to18(case_id[:15]) == case_id
