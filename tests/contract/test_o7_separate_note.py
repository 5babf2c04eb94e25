"""O7 on a platform whose note is a request of its own (the ToyDesk stub in tests/support):
after a crash between any platform call and Baton's commit, the retry leaves exactly one
ticket with exactly one Baton note. (Zendesk, whose note travels in the create, is covered by
the contract suite's O7 tests.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.connectors.base import connector_for
from baton.core.catalog import load_catalog
from baton.core.errors import RetryableError
from baton.core.handoff import Handoff, parse_handoff
from baton.core.mapping import load_mapping
from baton.core.mapping.note import carries_note_marker
from baton.core.plugin import PLUGINS_ENV
from baton.core.ports import Connector
from baton.sandbox.faults import Fault
from tests.support.toydesk import mappings_with_toydesk, plugin
from tests.support.toydesk.local import LocalToydesk

ROOT = Path(__file__).resolve().parents[2]
CREATE = r"^/api/tickets$"
NOTES = r"^/api/tickets/\d+/notes$"


@pytest.fixture
def toydesk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LocalToydesk, Connector]]:
    monkeypatch.setenv(PLUGINS_ENV, "tests.support.toydesk:plugin")
    mappings = mappings_with_toydesk(tmp_path / "mappings")
    catalog = load_catalog(mappings / "catalogs" / "toydesk.json")
    sandbox = plugin.start_sandbox(catalog, port=0, rate_limit=10_000, clock=None)
    assert isinstance(sandbox, LocalToydesk)
    connector = connector_for("toydesk", load_mapping(mappings, "toydesk"), sandbox.env)
    try:
        yield sandbox, connector
    finally:
        connector.close()
        sandbox.stop()


def _handoff(suffix: str) -> Handoff:
    base = parse_handoff(
        (ROOT / "examples" / "handoffs" / "02-explicit-human-request.json").read_bytes()
    )
    return base.model_copy(update={"id": f"o7-{suffix}"})


def _baton_notes(sandbox: LocalToydesk, handoff: Handoff) -> list[int]:
    """Per ticket of the handoff, how many of its notes carry the handoff's marker."""
    tickets = [t for t in sandbox.state.tickets.values() if t.external_id == handoff.id]
    return [sum(carries_note_marker(n, handoff.id) for n in t.notes) for t in tickets]


@pytest.mark.parametrize("lost", ["create", "note"])
def test_o7_an_answer_lost_after_either_call_leaves_one_ticket_with_one_note(
    toydesk: tuple[LocalToydesk, Connector], lost: str
) -> None:
    sandbox, connector = toydesk
    handoff = _handoff(lost)
    path = CREATE if lost == "create" else NOTES
    sandbox.state.faults.add(Fault(kind="drop_after_commit", method="POST", path_regex=path))
    with pytest.raises(RetryableError):
        connector.create_ticket(handoff)

    connector.create_ticket(handoff, first_attempt=False)
    connector.create_ticket(handoff, first_attempt=False)  # and once more, for good measure

    assert _baton_notes(sandbox, handoff) == [1]


def test_o7_a_first_attempt_makes_no_note_look_up(toydesk: tuple[LocalToydesk, Connector]) -> None:
    sandbox, connector = toydesk
    handoff = _handoff("first")
    connector.create_ticket(handoff)
    assert _baton_notes(sandbox, handoff) == [1]
    methods = [(r["method"], r["path"]) for r in sandbox.state.requests]
    assert not any(m == "GET" and p.endswith("/notes") for m, p in methods)
