"""An out-of-tree platform (tests/support/toydesk) plugs in through BATON_PLUGINS alone:
registry, validation, preview, its sandbox, its connector, signed webhooks and sync."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from baton.connectors.base import connector_for
from baton.core.errors import VerificationError
from baton.core.handoff import Handoff, parse_handoff
from baton.core.mapping import load_mapping, plan_requests, validate_mappings
from baton.core.plugin import PLUGINS_ENV, registry
from baton.sandbox.server import serve_in_thread
from tests.support.paths import EXAMPLES
from tests.support.toydesk import mappings_with_toydesk, plugin
from tests.support.toydesk.local import LocalToydesk

TOYDESK = "tests.support.toydesk:plugin"


@pytest.fixture(autouse=True)
def _toydesk_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLUGINS_ENV, TOYDESK)


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """Baton's default mappings plus ToyDesk's, in a private folder."""
    return mappings_with_toydesk(tmp_path / "mappings")


def example(name: str = "01-vip-refund-dispute.json") -> Handoff:
    return parse_handoff((EXAMPLES / name).read_bytes())


def test_registry_lists_toydesk_after_the_built_ins() -> None:
    platforms = registry()
    assert platforms.names[-1] == "toydesk"
    assert platforms.names[:-1] == platforms.built_in
    assert "toydesk" not in platforms.built_in
    assert platforms.get("toydesk") is plugin
    assert plugin.delivers
    assert plugin.has_sandbox


def test_combined_mappings_validate(mappings: Path) -> None:
    found, problems = validate_mappings(mappings)
    assert problems == []
    assert "toydesk" in found


def test_preview_routes_to_the_resolved_queue(mappings: Path) -> None:
    handoff = example()
    plan = plan_requests(load_mapping(mappings, "toydesk"), handoff)
    assert (plan.platform, plan.route, plan.target) == ("toydesk", "Billing", "queue Billing")
    request, note = plan.requests
    assert (request.method, request.path, request.auth) == ("POST", "/api/tickets", "Bearer")
    assert request.headers["Idempotency-Key"] == handoff.id
    ticket = request.json["ticket"]
    assert ticket["queue_id"] == 7003
    assert ticket["external_id"] == handoff.id
    assert ticket["priority"] == "high"
    assert ticket["fields"]["customer_tier"] == "vip"
    assert "baton" in ticket["tags"]
    assert "note" not in ticket  # the note is a request of its own, after the create
    assert (note.method, note.path) == ("POST", "/api/tickets/@{ticket.id}/notes")
    assert note.json["note"]["body"].startswith(f"<p>[Baton handoff {handoff.id}]</p>")


def test_typo_in_a_queue_is_reported_with_its_path(mappings: Path) -> None:
    file = mappings / "toydesk.yaml"
    text = file.read_text(encoding="utf-8")
    assert "      queue: Billing\n" in text
    file.write_text(text.replace("      queue: Billing\n", "      queue: Billng\n"), "utf-8")
    found, problems = validate_mappings(mappings)
    assert "toydesk" in found
    [problem] = problems
    assert problem.file == "toydesk.yaml"
    assert problem.path == "routing.rules[0].queue"
    assert problem.message == "unknown queue 'Billng'; did you mean 'Billing'?"
    assert problem.line == next(
        n for n, line in enumerate(file.read_text("utf-8").splitlines(), 1) if "Billng" in line
    )


@pytest.fixture
def sandbox(mappings: Path) -> Iterator[LocalToydesk]:
    """The ToyDesk sandbox on a free port, seeded from its shipped catalog."""
    catalog = load_mapping(mappings, "toydesk").catalog
    started = plugin.start_sandbox(catalog, port=0, rate_limit=700, clock=None)
    assert isinstance(started, LocalToydesk)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def received() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A tiny webhook receiver: its URL and what it received (lower-case headers, body)."""
    got: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        got.append((dict(request.headers.items()), await request.body()))
        return Response(status_code=204)

    server = serve_in_thread(Starlette(routes=[Route("/webhooks/toydesk", hook, methods=["POST"])]))
    try:
        yield f"{server.base_url}/webhooks/toydesk", got
    finally:
        server.stop()


def test_sandbox_connector_webhooks_and_sync(
    mappings: Path,
    sandbox: LocalToydesk,
    received: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, got = received
    sandbox.send_webhooks_to(url)
    mapping = load_mapping(mappings, "toydesk")
    # connector_for picks the registry from the env it is given: keep BATON_PLUGINS in it.
    env = {PLUGINS_ENV: os.environ[PLUGINS_ENV], **sandbox.env}
    connector = connector_for("toydesk", mapping, env)
    try:
        handoff = example()
        first = connector.create_ticket(handoff)
        again = connector.create_ticket(handoff, first_attempt=False)
        assert first.created
        assert not again.created
        assert again.ticket_id == first.ticket_id
        assert len(sandbox.state.tickets) == 1
        agents = sandbox.agents
        assert agents is not None
        assert agents.summary(first.ticket_id).group == "Billing"

        agents.solve(first.ticket_id)
        sandbox.wait_idle(10)
        headers, body = got[-1]
        now = datetime.now(UTC)
        connector.verify_webhook(headers, body, url=url, now=now)
        [event] = connector.parse_webhook(body)
        assert event.disposition is not None
        assert event.disposition.outcome == "resolved"
        assert event.disposition.handoff_id == handoff.id
        assert event.disposition.ticket_id == first.ticket_id
        assert event.disposition.source == "webhook"
        with pytest.raises(VerificationError):
            connector.verify_webhook(headers, body + b" ", url=url, now=now)
        with pytest.raises(VerificationError):
            connector.verify_webhook(headers, body, url=url, now=now + timedelta(minutes=10))

        agents.rate(first.ticket_id, good=True)
        pages = list(connector.changes(None, since=now - timedelta(hours=1)))
        assert pages[-1].done
        synced = [d for page in pages for d in page.dispositions]
        assert [d.outcome for d in synced] == ["open", "resolved", "resolved"]
        assert synced[-1].csat == 1.0
        assert synced[-1].source == "sync"
        [caught_up] = connector.changes(pages[-1].cursor, since=now)
        assert caught_up.done
        assert caught_up.dispositions == []
    finally:
        connector.close()
