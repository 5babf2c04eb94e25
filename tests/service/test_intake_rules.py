"""Intake rules added after probing the running service: declared JSON only (415), a retry
with a regenerated ``created_at`` is the same handoff (200), unknown vocabulary is accepted
with warnings and counted, and fields kept verbatim never carry what redaction masks."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from baton.core.handoff import IDEMPOTENCY_IGNORED_FIELDS
from baton.core.tables import HandoffRow

FAST = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NOT_JSON = st.sampled_from(
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonl",
        "",
    ]
)


@FAST
@given(content_type=NOT_JSON)
def test_a_body_not_declared_json_is_415_and_stores_nothing(
    harness: Any, handoff_doc: Any, content_type: str
) -> None:
    """POST /v1/handoffs with any other Content-Type (or none) → 415; nothing stored."""
    headers = {**harness.auth}
    if content_type:
        headers["Content-Type"] = content_type
    before = harness.store.table_counts()
    response = harness.client.post(
        "/v1/handoffs", content=json.dumps(handoff_doc("h-415")).encode(), headers=headers
    )
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert harness.store.table_counts() == before


def test_json_with_parameters_or_a_json_suffix_is_accepted(harness: Any, handoff_doc: Any) -> None:
    """``application/json; charset=utf-8`` and ``application/vnd.x+json`` are JSON."""
    json_types = ("application/json; charset=utf-8", "application/x+json")
    for number, content_type in enumerate(json_types):
        headers = {**harness.auth, "Content-Type": content_type}
        body = json.dumps(handoff_doc(f"h-json-{number}")).encode()
        assert harness.client.post("/v1/handoffs", content=body, headers=headers).status_code == 202


@FAST
@given(shift=st.integers(min_value=1, max_value=10**7))
def test_a_retry_with_a_regenerated_created_at_is_the_same_handoff(
    db_harness: Any, handoff_doc: Any, shift: int
) -> None:
    """Same id, only ``created_at`` regenerated (clients rebuild bodies on retry) → 200 with
    the existing handoff, not 409; the stored copy keeps the first created_at."""
    assert "created_at" in IDEMPOTENCY_IGNORED_FIELDS
    handoff_id = f"h-retry-{shift}"
    first = handoff_doc(handoff_id)
    assert db_harness.post_handoff(first).status_code == 202
    later = datetime(2026, 3, 1, 11, 59, tzinfo=UTC) + timedelta(seconds=shift)
    response = db_harness.post_handoff({**first, "created_at": later.isoformat()})
    assert response.status_code == 200
    assert response.json()["id"] == handoff_id
    with db_harness.store.reading() as session:
        body = session.scalars(select(HandoffRow.body).where(HandoffRow.id == handoff_id)).one()
    assert json.loads(body)["created_at"].startswith("2026-03-01T11:59:00")


def test_a_reused_id_for_another_escalation_is_still_409(db_harness: Any, handoff_doc: Any) -> None:
    """Any other difference (here the summary) is a different escalation under a reused id."""
    first = handoff_doc("h-reused")
    assert db_harness.post_handoff(first).status_code == 202
    changed = {**first, "summary": "Another problem entirely", "created_at": "2026-03-02T00:00Z"}
    assert db_harness.post_handoff(changed).status_code == 409


def test_unknown_vocabulary_is_202_with_warnings_and_counted_in_metrics(
    harness: Any, handoff_doc: Any
) -> None:
    """An invented trigger kind, channel and role: 202, one warning each, and the
    ``baton_handoff_normalisations`` counter says so on /metrics."""
    doc = handoff_doc(
        "h-vocab",
        channel="whatsapp",
        triggers=[{"kind": "frustration"}, {"kind": "sentiment"}],
        transcript=[{"role": "bot", "text": "hi"}, {"role": "customer", "text": "a human!"}],
    )
    response = harness.post_handoff(doc)
    assert response.status_code == 202
    paths = [w["path"] for w in response.json()["warnings"]]
    assert paths == ["channel", "triggers[0].kind", "transcript[0].role"]
    metrics = harness.client.get("/metrics").text
    for field in ("channel", "triggers", "transcript"):
        line = re.search(
            rf'^baton_handoff_normalisations_total\{{field="{field}"\}} (\S+)$', metrics, re.M
        )
        assert line is not None, field
        assert float(line.group(1)) == 1.0, field


def test_a_card_in_an_identifier_is_422_naming_it_and_nothing_is_stored(
    db_harness: Any, handoff_doc: Any
) -> None:
    """Identifiers are kept verbatim, so one that carries a card number is refused (C6)."""
    before = db_harness.store.table_counts()
    doc = handoff_doc("h-ident", customer={"id": "4111111111111111", "name": "Ada"})
    response = db_harness.post_handoff(doc)
    assert response.status_code == 422
    assert [p["path"] for p in response.json()["problems"]] == ["customer.id"]
    assert "4111111111111111" not in response.text
    assert db_harness.store.table_counts() == before
