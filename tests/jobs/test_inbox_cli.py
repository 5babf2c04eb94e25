"""``baton inbox``: failed inbox events and quarantined payloads are listed without their text
and put back — a failed event for the processor, a quarantined payload through the platform's
connector once it reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.core.inbox import inbox_body
from baton.core.ports import WebhookEvent
from baton.core.store import Store
from baton.core.store_inbox import InboxEntry, Observed
from baton.webhooks.cli import app
from tests.support.paths import MAPPINGS

SECRET_TEXT = "customer-wrote-this-private-text"
ZENDESK_ENV = {
    "BATON_ZENDESK_SUBDOMAIN": "acme",
    "BATON_ZENDESK_EMAIL": "ops@acme.test",
    "BATON_ZENDESK_TOKEN": "zendesk-token-for-tests",
    "BATON_MAPPINGS_DIR": str(MAPPINGS),
    "COLUMNS": "240",
}


def _status_changed(event_id: str, ticket_id: str = "42") -> bytes:
    """A Zendesk event-webhook body (the shape connectors/zendesk/events.py reads)."""
    at = "2026-11-27T10:00:00Z"
    return json.dumps(
        {
            "type": "zen:event-type:ticket.status_changed",
            "id": event_id,
            "time": at,
            "subject": f"zen:ticket:{ticket_id}",
            "detail": {"id": ticket_id, "status": "SOLVED", "updated_at": at},
            "event": {"current": "SOLVED", "previous": "OPEN"},
        }
    ).encode()


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = f"sqlite:///{tmp_path}/inbox.db"
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    for name, value in ZENDESK_ENV.items():
        monkeypatch.setenv(name, value)
    store = Store(url)
    store.migrate()
    return store


def _refuse(_entry: InboxEntry) -> Observed:
    raise ValueError("the connector could not read this slice")


def _read_nothing(_entry: InboxEntry) -> Observed:
    return Observed()


def _states(store: Store) -> list[str]:
    from sqlalchemy import select

    from baton.core.tables import InboundEventRow

    with store.reading() as session:
        return list(session.scalars(select(InboundEventRow.state).order_by(InboundEventRow.id)))


def test_a_failed_event_is_listed_and_goes_back_to_the_processor(cli_store: Store) -> None:
    event = WebhookEvent("ev-failed", occurred_at=datetime.now(UTC))
    assert cli_store.record_inbound_event("zendesk", event.event_id, inbox_body(event))
    [outcome] = cli_store.process_inbox(["zendesk"], _refuse, limit=10)
    assert outcome.result == "failed"

    listed = CliRunner().invoke(app, ["inbox"])
    assert listed.exit_code == 0, listed.output
    assert "failed" in listed.output
    assert "ev-failed" in listed.output
    assert "ValueError" in listed.output  # the class only: an error may quote the payload
    [problem] = cli_store.inbox_problems()

    retried = CliRunner().invoke(app, ["inbox", "retry", str(problem.id)])
    assert retried.exit_code == 0, retried.output
    assert _states(cli_store) == ["received"]
    [again] = cli_store.process_inbox(["zendesk"], _read_nothing, limit=10)
    assert again.result == "processed"
    assert cli_store.inbox_problems() == []

    twice = CliRunner().invoke(app, ["inbox", "retry", str(problem.id)])
    assert twice.exit_code == 2
    assert "not a failed inbox event" in twice.output


def test_a_quarantined_payload_that_now_reads_moves_to_the_inbox(cli_store: Store) -> None:
    cli_store.quarantine(
        "zendesk", "PayloadError: unknown shape (an older Baton)", _status_changed("ev-q")
    )
    [problem] = cli_store.inbox_problems()
    assert (problem.kind, problem.platform, problem.event_id) == ("quarantined", "zendesk", None)

    listed = CliRunner().invoke(app, ["inbox"])
    assert "quarantined" in listed.output
    assert "an older Baton" in listed.output

    released = CliRunner().invoke(app, ["inbox", "retry", "--quarantined", str(problem.id)])
    assert released.exit_code == 0, released.output
    assert "1 events, 1 new in the inbox" in released.output
    assert cli_store.inbox_problems() == []
    [entry] = cli_store.received_inbox(["zendesk"], limit=10)
    assert entry.event_id == "ev-q"
    # What the inbox keeps is the slice the receiver would have stored, read without the body.
    assert json.loads(entry.body)["disposition"]["outcome"] == "resolved"


def test_a_payload_already_in_the_inbox_is_not_recorded_twice(cli_store: Store) -> None:
    cli_store.record_inbound_event("zendesk", "ev-dup", b"{}")
    cli_store.quarantine("zendesk", "PayloadError: retried body", _status_changed("ev-dup"))
    [problem] = cli_store.inbox_problems()
    released = CliRunner().invoke(app, ["inbox", "retry", "--quarantined", str(problem.id)])
    assert released.exit_code == 0, released.output
    assert "1 events, 0 new" in released.output
    assert _states(cli_store) == ["received"]


def test_a_payload_that_still_does_not_read_stays_and_its_text_is_not_printed(
    cli_store: Store,
) -> None:
    body = json.dumps({"type": SECRET_TEXT, "detail": SECRET_TEXT}).encode()
    cli_store.quarantine("zendesk", "PayloadError: unknown shape", body)
    [problem] = cli_store.inbox_problems()
    result = CliRunner().invoke(app, ["inbox", "retry", "--quarantined", str(problem.id)])
    assert result.exit_code == 2
    assert "still does not read" in result.output
    assert SECRET_TEXT not in result.output
    assert SECRET_TEXT not in CliRunner().invoke(app, ["inbox"]).output
    assert [p.id for p in cli_store.inbox_problems()] == [problem.id]


def test_an_unknown_quarantine_id_is_a_clear_error(cli_store: Store) -> None:
    result = CliRunner().invoke(app, ["inbox", "retry", "--quarantined", "999"])
    assert result.exit_code == 2
    assert "no quarantined payload 999" in result.output
