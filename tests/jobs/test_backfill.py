"""``baton backfill``: every line through the intake path, every ticket exactly once, run after
run, against the Zendesk sandbox (whose connector has no bulk endpoint: the per-handoff path)
on SQLite; bad lines named by number while the good ones go through; a crash between the
platform's answer and the link leaves nothing twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.connectors.base import configured_connector
from baton.connectors.zendesk.local import LocalZendesk, start_local_zendesk
from baton.core.accept import HandoffGate
from baton.core.backfill import Backfill, numbered_lines
from baton.core.catalog import load_catalog
from baton.core.redact import default_redactor
from baton.core.store import Store
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
        from sqlalchemy import update

        from baton.core.tables import DeliveryRow

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
