"""Salesforce public replies: a published CaseComment by an agent, made through the sandbox's
control API, is a PublicReply on the sync page; a private comment, a portal customer's comment
and the integration user's are not; replies cost no request beyond the comment query."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

import httpx
import pytest

from baton.connectors.salesforce.connector import SalesforceConnector
from baton.connectors.salesforce.local import LocalSalesforce, start_local_salesforce
from baton.connectors.salesforce.replies import case_replies
from baton.core.catalog import load_catalog
from baton.core.mapping import load_mapping
from baton.sandbox.clock import ManualClock
from tests.support.builders import make_handoff
from tests.support.paths import MAPPINGS, catalog_path

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def org() -> Iterator[LocalSalesforce]:
    local = start_local_salesforce(
        load_catalog(catalog_path("salesforce")), clock=ManualClock(START)
    )
    try:
        yield local
    finally:
        local.stop()


def _comment(org: LocalSalesforce, case_id: str, **body: object) -> None:
    url = f"{org.base_url}/_sandbox/cases/{case_id}/comment"
    answer = httpx.post(url, json=body)
    assert answer.status_code == 200, answer.text


def _agent(org: LocalSalesforce) -> str:
    users = org.state.records["User"].values()
    return next(u["Name"] for u in users if u["Id"] != org.state.api_user)


def test_only_an_agents_published_comment_is_a_public_reply(org: LocalSalesforce) -> None:
    connector = SalesforceConnector.from_env(load_mapping(MAPPINGS, "salesforce"), org.env)
    ref = connector.create_ticket(make_handoff("h-sf-replies"))
    customer = httpx.post(
        f"{org.base_url}/_sandbox/users",
        json={"name": "Carla Customer", "user_type": "CSPLitePortal"},
    )
    assert customer.status_code == 200, customer.text
    agent = _agent(org)
    _comment(org, ref.ticket_id, body="Internal: refund approved", public=False, author=agent)
    _comment(org, ref.ticket_id, body="Any news?", author="Carla Customer")
    _comment(org, ref.ticket_id, body="Your refund went out today.", author=agent)
    org.state.request_log.clear()

    pages = list(connector.changes(None, since=START - timedelta(hours=1)))

    replies = [r for page in pages for r in page.replies]
    assert [(r.ticket_id, r.body, r.author) for r in replies] == [
        (ref.ticket_id, "Your refund went out today.", agent)
    ]
    comment_queries = [
        e for e in org.state.request_log.entries() if "CaseComment" in unquote_plus(e.query)
    ]
    assert len(comment_queries) == 1  # the page's one comment query, shared with its activity
    connector.close()


def test_the_integration_users_own_published_comment_is_not_a_reply() -> None:
    row = {
        "Id": "00a5g0000000001AAA",
        "ParentId": "5005g0000000001AAA",
        "CommentBody": "posted by the integration",
        "CreatedDate": "2026-11-27T12:00:00.000+0000",
        "CreatedBy": {"Name": "Baton", "UserType": "Standard", "Username": "Baton@Acme.example"},
    }
    assert case_replies([row], integration_user="baton@acme.example") == []
    assert [r.reply_id for r in case_replies([row])] == ["00a5g0000000001AAA"]
    automated = {**row, "CreatedBy": {**row["CreatedBy"], "UserType": "AutomatedProcess"}}
    assert case_replies([automated, {**row, "CreatedBy": None}, {**row, "CommentBody": " "}]) == []
