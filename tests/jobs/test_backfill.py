"""``baton backfill``: every line through the intake path, every ticket exactly once, run after
run, against the Zendesk sandbox (whose connector has no bulk endpoint: the per-handoff path)
on SQLite; bad lines named by number while the good ones go through; a crash between the
platform's answer and the link leaves nothing twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from baton.connectors.base import configured_connector
from baton.connectors.salesforce.local import LocalSalesforce, start_local_salesforce
from baton.connectors.zendesk.local import LocalZendesk, start_local_zendesk
from baton.core.accept import HandoffGate
from baton.core.backfill import Backfill, numbered_lines
from baton.core.catalog import load_catalog
from baton.core.mapping.note import carries_note_marker
from baton.core.redact import default_redactor
from baton.core.store import Store
from baton.core.tables import DeliveryRow
from baton.webhooks.cli import app
from tests.support.builders import handoff_doc
from tests.support.paths import MAPPINGS, catalog_path

SECRET_WORD = "PLANTEDTRANSCRIPTWORD"


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalZendesk]:
    local = start_local_zendesk(load_catalog(catalog_path("zendesk")))
    try:
        for name, value in local.env.items():
            monkeypatch.setenv(name, value)
        yield local
    finally:
        local.stop()


def _file(tmp_path: Path, count: int, *, bad: dict[int, str] | None = None) -> Path:
    lines = []
    for n in range(1, count + 1):
        doc = handoff_doc(
            f"bf-{n:04d}",
            transcript=[{"role": "customer", "text": f"card 4111 1111 1111 1111 {SECRET_WORD}"}],
        )
        lines.append((bad or {}).get(n, json.dumps(doc)))
    path = tmp_path / "handoffs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _tickets(local: LocalZendesk) -> list[str]:
    return [str(t.external_id) for t in local.sandbox.state.tickets.values()]


def test_backfill_makes_each_ticket_once_and_a_rerun_makes_none(
    cli_store: Store, zendesk: LocalZendesk, tmp_path: Path
) -> None:
    path = _file(tmp_path, 12)
    runner = CliRunner()
    args = ["backfill", str(path), "--platform", "zendesk", "--mappings", str(MAPPINGS)]

    first = runner.invoke(app, args)
    again = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    assert "12 handoff(s): 12 new, 0 already stored; 12 ticket(s) created" in first.output
    assert again.exit_code == 0, again.output
    assert "0 new, 12 already stored; 0 ticket(s) created, 0 found" in again.output
    assert sorted(_tickets(zendesk)) == [f"bf-{n:04d}" for n in range(1, 13)]
    for n in (1, 12):
        link = cli_store.ticket_link(f"bf-{n:04d}")
        assert link is not None
        assert link.route is not None  # routed and linked like any delivered handoff
    stored = cli_store.table_counts()
    assert (stored["handoffs"], stored["ticket_links"]) == (12, 12)
    # Redacted before anything was stored or sent, as the intake does it.
    sent = " ".join(c.body for t in zendesk.sandbox.state.tickets.values() for c in t.comments)
    assert SECRET_WORD in sent  # the transcript reached the note...
    assert "4111 1111 1111 1111" not in sent  # ...with the card number redacted


def test_bad_lines_are_named_by_number_and_the_good_ones_go_through(
    cli_store: Store, zendesk: LocalZendesk, tmp_path: Path
) -> None:
    other = json.dumps(handoff_doc("bf-0002", summary="another handoff under an id in use"))
    path = _file(tmp_path, 5, bad={2: '{"id": "x"', 4: json.dumps({"id": "bf-0004"})})
    with path.open("a", encoding="utf-8") as more:
        more.write(other + "\n")  # line 6: bf-0002 again, but line 2 was bad: this one is new

    result = CliRunner().invoke(
        app, ["backfill", str(path), "--platform", "zendesk", "--mappings", str(MAPPINGS)]
    )

    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "6 handoff(s): 4 new" in text
    assert "line 2: invalid" in text
    assert "line 4: invalid" in text
    assert SECRET_WORD not in result.output
    assert sorted(_tickets(zendesk)) == ["bf-0001", "bf-0002", "bf-0003", "bf-0005"]


def test_a_handoff_for_another_platform_is_refused_naming_the_destination(
    cli_store: Store, zendesk: LocalZendesk, tmp_path: Path
) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(handoff_doc("bf-x", destination="hubspot")) + "\n")
    result = CliRunner().invoke(
        app, ["backfill", str(path), "--platform", "zendesk", "--mappings", str(MAPPINGS)]
    )
    assert result.exit_code == 1
    assert "destination: destination 'hubspot' is not enabled" in " ".join(result.output.split())


def test_a_crash_after_the_platform_answered_makes_nothing_twice(
    cli_store: Store, zendesk: LocalZendesk, tmp_path: Path
) -> None:
    """The first run's tickets were made but it died before linking them (its leases expire):
    the rerun counts a second attempt, so it looks the tickets up instead of making them."""
    path = _file(tmp_path, 4)
    connector = configured_connector("zendesk", MAPPINGS)
    gate = HandoffGate(cli_store, default_redactor(), frozenset({"zendesk"}), "zendesk")
    crashed = Backfill(cli_store, gate, connector, owner="crashed")

    def die_before_linking(*_: object, **__: object) -> None:
        raise KeyboardInterrupt  # the process dies between the answer and the link

    crashed._settle = die_before_linking  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt), path.open() as lines:
        crashed.run(numbered_lines(lines))
    assert len(_tickets(zendesk)) == 4  # the platform made them all (the per-handoff path)...
    assert cli_store.ticket_link("bf-0001") is None  # ...but none is linked
    with cli_store.session() as session:  # the dead run's leases expire
        session.execute(update(DeliveryRow).values(lease_expires_at=DeliveryRow.updated_at))
    try:
        rerun = Backfill(cli_store, gate, connector, owner="rerun")
        with path.open() as lines:
            summary = rerun.run(numbered_lines(lines))
    finally:
        connector.close()
    assert (summary.existing, summary.tickets_created, summary.tickets_found) == (4, 0, 4)
    assert len(_tickets(zendesk)) == 4
    assert all(cli_store.ticket_link(f"bf-{n:04d}") for n in range(1, 5))


# ------------------------------------------------------------------------------ Salesforce


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSalesforce]:
    local = start_local_salesforce(load_catalog(catalog_path("salesforce")))
    try:
        for name, value in local.env.items():
            monkeypatch.setenv(name, value)
        yield local
    finally:
        local.stop()


def _salesforce_file(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "salesforce.jsonl"
    lines = [json.dumps(handoff_doc(handoff_id, destination="salesforce")) for handoff_id in ids]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cases_and_notes(local: LocalSalesforce) -> dict[str, int]:
    """Per handoff id, its cases' count × 100 + its Baton notes' count (1 case, 1 note = 101)."""
    state = local.sandbox.state
    with state.lock:
        found: dict[str, int] = {}
        for case in state.records["Case"].values():
            handoff_id = str(case.get(state.external_id_field))
            notes = sum(
                1
                for comment in state.records["CaseComment"].values()
                if str(comment["ParentId"])[:15] == str(case["Id"])[:15]
                and carries_note_marker(str(comment["CommentBody"]), handoff_id)
            )
            found[handoff_id] = found.get(handoff_id, 0) + 100 + notes
    return found


def _received(local: LocalSalesforce) -> int:
    answer = httpx.get(f"{local.base_url}/_sandbox/requests", params={"limit": 1}, timeout=10)
    return int(answer.json()["received"])


def test_salesforce_backfill_is_bulk_and_exactly_once(
    cli_store: Store, salesforce: LocalSalesforce, tmp_path: Path
) -> None:
    ids = [f"sf-{n:04d}" for n in range(250)]  # two batches of the 200-record collections
    path = _salesforce_file(tmp_path, ids)
    args = ["backfill", str(path), "--platform", "salesforce", "--mappings", str(MAPPINGS)]

    first = CliRunner().invoke(app, args)
    calls = _received(salesforce)
    again = CliRunner().invoke(app, args)

    assert first.exit_code == 0, first.output
    assert "250 ticket(s) created" in first.output
    # login, then per batch one insert and one post of the notes (no look-ups on first tries)
    assert calls == 1 + 2 * 2
    assert again.exit_code == 0, again.output
    assert _received(salesforce) == calls  # the rerun asks the platform nothing
    assert _cases_and_notes(salesforce) == dict.fromkeys(ids, 101)


def test_salesforce_backfill_refuses_a_foreign_case_under_a_handoff_id(
    cli_store: Store, salesforce: LocalSalesforce, tmp_path: Path
) -> None:
    state = salesforce.sandbox.state
    state.create_case({"Subject": "made by hand", state.external_id_field: "sf-0001"})
    path = _salesforce_file(tmp_path, ["sf-0000", "sf-0001", "sf-0002"])

    result = CliRunner().invoke(
        app, ["backfill", str(path), "--platform", "salesforce", "--mappings", str(MAPPINGS)]
    )

    assert result.exit_code == 1
    assert "1 ticket(s) left to the worker" in " ".join(result.output.split())
    assert _cases_and_notes(salesforce) == {"sf-0000": 101, "sf-0001": 100, "sf-0002": 101}
    delivery = next(d for d in cli_store.list_deliveries() if d.handoff_id == "sf-0001")
    assert "IdempotencyConflict" in (delivery.last_error or "")


def test_a_salesforce_backfill_killed_after_the_platform_answered_makes_nothing_twice(
    cli_store: Store, salesforce: LocalSalesforce, tmp_path: Path
) -> None:
    ids = [f"sf-{n:04d}" for n in range(5)]
    path = _salesforce_file(tmp_path, ids)
    connector = configured_connector("salesforce", MAPPINGS)
    gate = HandoffGate(cli_store, default_redactor(), frozenset({"salesforce"}), "salesforce")
    crashed = Backfill(cli_store, gate, connector, owner="crashed")

    def die_before_linking(*_: object, **__: object) -> None:
        raise KeyboardInterrupt  # the process dies between the answer and the link

    crashed._settle = die_before_linking  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt), path.open() as lines:
        crashed.run(numbered_lines(lines))
    assert _cases_and_notes(salesforce) == dict.fromkeys(ids, 101)
    with cli_store.session() as session:  # the dead run's leases expire
        session.execute(update(DeliveryRow).values(lease_expires_at=DeliveryRow.updated_at))
    try:
        with path.open() as lines:
            summary = Backfill(cli_store, gate, connector, owner="rerun").run(numbered_lines(lines))
    finally:
        connector.close()
    assert (summary.tickets_created, summary.tickets_found) == (0, 5)
    assert _cases_and_notes(salesforce) == dict.fromkeys(ids, 101)  # no second case or note
