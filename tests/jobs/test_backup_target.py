"""The routing backup target (issue 8, step 4): when the platform refuses the target a rule
chose, the worker tries once more, at once, on the mapping's ``routing.backup`` target.

End to end with the real Zendesk connector against the sandbox (its group or agent refused by
changing the sandbox account, as an admin deleting a group would), the worker alone against a
scripted creator, and the ticket link's new columns through migration 0003, each on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from jobs_fakes import FakeCreator, make_worker, only, retryable
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from baton.connectors.base import connector_for
from baton.connectors.zendesk.local import sandbox_settings
from baton.core.catalog import load_catalog
from baton.core.delivery import DeliveryMetrics
from baton.core.errors import TargetRefused
from baton.core.handoff import Handoff, parse_handoff
from baton.core.mapping import CompiledMapping, load_mapping
from baton.core.ports import Connector
from baton.core.retry import RetryPolicy
from baton.core.store import Store, alembic_config
from baton.sandbox.server import ZendeskSandbox
from baton.sandbox.zendesk import ZendeskState
from baton.webhooks.app import create_app
from baton.webhooks.settings import ServiceSettings
from tests.support.builders import make_handoff
from tests.support.paths import MAPPINGS, VIP_REFUND  # VIP_REFUND → VIP billing

if TYPE_CHECKING:
    from tests.conftest import Database

API_KEY = "backup-target-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


# ------------------------------------------------------------------------------ end to end


@dataclasses.dataclass
class Desk:
    """The sandbox account, a connector on it, and the ids of the groups that matter."""

    state: ZendeskState
    connector: Connector

    def group(self, name: str) -> int:
        """The id of the sandbox group called ``name``."""
        return next(g.id for g in self.state.groups.values() if g.name == name)

    def delete_group(self, name: str) -> None:
        """An admin deletes the group: Zendesk refuses it from now on."""
        del self.state.groups[self.group(name)]

    def tickets(self, handoff_id: str) -> list[Any]:
        """The live tickets carrying ``handoff_id``."""
        return self.state.list_tickets(external_id=handoff_id)


@pytest.fixture
def make_desk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Desk]]:
    """``make_desk(mapping=…)``: a sandbox seeded from the repository's catalog and the real
    connector on it (the default mapping has ``backup: { group: General Support }``)."""
    # The connector points zenpy at the sandbox process-wide: put the old values back after.
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "placeholder")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "placeholder")
    state = ZendeskState.from_catalog(load_catalog(MAPPINGS / "catalogs" / "zendesk.json"))
    built: list[Connector] = []
    with ZendeskSandbox(state) as sandbox:

        def make(mapping: CompiledMapping | None = None) -> Desk:
            mapping = mapping or load_mapping(MAPPINGS, "zendesk")
            connector = connector_for("zendesk", mapping, sandbox_settings(sandbox))
            built.append(connector)
            return Desk(state, connector)

        yield make
        for connector in built:
            connector.close()


def vip_refund() -> Handoff:
    return parse_handoff(VIP_REFUND.read_bytes())


def service(store: Store, connector: Connector) -> TestClient:
    """The Baton service over ``store``, with the real connector as its Zendesk source."""
    settings = ServiceSettings(api_keys=(SecretStr(API_KEY),), mappings_dir=MAPPINGS)
    return TestClient(create_app(store, {"zendesk": connector}, settings))


@pytest.mark.parametrize(
    "refuse",
    [
        pytest.param(lambda desk: desk.delete_group("VIP Billing"), id="group-deleted"),
        pytest.param(
            lambda desk: desk.state.set_group_members(desk.group("VIP Billing"), []),
            id="agent-not-in-group",
        ),
    ],
)
def test_a_refused_target_lands_the_ticket_on_the_backup_exactly_once(
    store: Store,
    make_desk: Callable[..., Desk],
    metrics: DeliveryMetrics,
    registry: CollectorRegistry,
    refuse: Callable[[Desk], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    desk = make_desk()
    refuse(desk)
    handoff = vip_refund()
    with service(store, desk.connector) as client:
        accepted = client.post(
            "/v1/handoffs",
            content=VIP_REFUND.read_bytes(),
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert accepted.status_code == 202
        worker = make_worker(store, {"zendesk": desk.connector}, metrics)
        assert worker.drain() == 1
        doc = client.get(f"/v1/handoffs/{handoff.id}", headers=AUTH).json()

    # One ticket, on the backup group, though both creates sent the handoff id as their
    # Idempotency-Key: the sandbox keeps a key only for a create that succeeded.
    [ticket] = desk.tickets(handoff.id)
    assert ticket.group_id == desk.group("General Support")
    assert ticket.assignee_id is None
    assert doc["status"] == "delivered"
    assert doc["delivery"]["state"] == "delivered"
    assert doc["delivery"]["attempts"] == 2  # the refused create and the backup's
    assert doc["ticket"]["id"] == str(ticket.id)
    assert {k: doc["ticket"][k] for k in ("route", "target", "backup")} == {
        "route": "VIP billing (backup)",
        "target": "group General Support",
        "backup": True,
    }
    assert registry.get_sample_value("baton_delivery_backups_total", {"platform": "zendesk"}) == 1
    assert "trying the backup target (group General Support)" in caplog.text
    assert handoff.summary not in caplog.text


def test_a_target_that_is_accepted_is_recorded_as_chosen(
    store: Store, make_desk: Callable[..., Desk], metrics: DeliveryMetrics
) -> None:
    desk = make_desk()
    handoff = vip_refund()
    store.add_handoff(handoff, "zendesk")
    assert make_worker(store, {"zendesk": desk.connector}, metrics).drain() == 1
    link = store.ticket_link(handoff.id)
    assert link is not None
    assert (link.route, link.target, link.backup) == (
        "VIP billing",
        "group VIP Billing, agent Maya Okafor",
        False,
    )
    assert only(store).attempts == 1


def test_without_a_backup_target_the_refusal_is_dead_lettered(
    store: Store, make_desk: Callable[..., Desk], metrics: DeliveryMetrics
) -> None:
    plain = dataclasses.replace(load_mapping(MAPPINGS, "zendesk"), backup=None)
    desk = make_desk(plain)
    desk.delete_group("VIP Billing")
    handoff = vip_refund()
    store.add_handoff(handoff, "zendesk")
    worker = make_worker(store, {"zendesk": desk.connector}, metrics)
    assert worker.drain() == 1
    view = only(store)
    assert (view.state, view.attempts) == ("dead", 1)
    assert view.last_error == (
        "TargetRefused http_422 RecordInvalid: zendesk: target refused: group_id"
    )
    assert worker.results["dead"] == 1
    assert desk.tickets(handoff.id) == []
    assert store.ticket_link(handoff.id) is None


def test_a_refused_backup_is_dead_lettered_after_two_counted_attempts(
    store: Store, make_desk: Callable[..., Desk], metrics: DeliveryMetrics
) -> None:
    desk = make_desk()
    desk.delete_group("VIP Billing")
    desk.delete_group("General Support")
    handoff = vip_refund()
    store.add_handoff(handoff, "zendesk")
    assert make_worker(store, {"zendesk": desk.connector}, metrics).drain() == 1
    view = only(store)
    assert (view.state, view.attempts) == ("dead", 2)
    assert view.last_error == (
        "backup target refused too: "
        "TargetRefused http_422 RecordInvalid: zendesk: target refused: group_id"
    )
    assert desk.tickets(handoff.id) == []


def test_a_retry_after_the_backup_ticket_was_made_finds_it_and_records_the_backup(
    make_desk: Callable[..., Desk],
) -> None:
    """The backup's create reached Zendesk but its answer was lost: the next call (the chosen
    target, still refused, is planned again) looks first, finds the ticket and says where."""
    desk = make_desk()
    desk.delete_group("VIP Billing")
    made = desk.connector.create_ticket(vip_refund(), use_backup=True)
    found = desk.connector.create_ticket(vip_refund(), first_attempt=False)
    assert (found.ticket_id, found.created) == (made.ticket_id, False)
    assert (found.route, found.target, found.backup) == (made.route, made.target, True)
    assert len(desk.tickets(vip_refund().id)) == 1


# ------------------------------------------------------------------------------ the worker


def refused(backup: str | None = "group General Support") -> TargetRefused:
    return TargetRefused(
        "target refused: group_id",
        platform="zendesk",
        status=422,
        code="RecordInvalid",
        fields=["group_id"],
        backup=backup,
    )


def test_the_worker_retries_once_at_once_on_the_backup(
    store: Store, metrics: DeliveryMetrics, registry: CollectorRegistry
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[refused()])
    worker = make_worker(store, {"zendesk": creator}, metrics)
    assert worker.run_once() == 1
    assert creator.calls == [("h-1", True), ("h-1", False)]
    assert creator.backups == [False, True]
    assert (only(store).state, only(store).attempts) == ("delivered", 2)
    link = store.ticket_link("h-1")
    assert link is not None
    assert (link.route, link.target, link.backup) == ("fake (backup)", "backup", True)
    assert worker.results["delivered"] == 1
    assert registry.get_sample_value("baton_delivery_backups_total", {"platform": "zendesk"}) == 1


def test_quick_retries_after_the_refusal_stay_on_the_backup(
    store: Store, metrics: DeliveryMetrics
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[refused(), retryable(503)])
    assert make_worker(store, {"zendesk": creator}, metrics).run_once() == 1
    assert creator.backups == [False, True, True]
    assert (only(store).state, only(store).attempts) == ("delivered", 3)


@pytest.mark.parametrize(
    ("script", "calls", "reason"),
    [
        ([refused(backup=None)], 1, "TargetRefused http_422 RecordInvalid: zendesk: target"),
        ([refused(), refused(backup=None)], 2, "backup target refused too: TargetRefused"),
        # Even a backup that offers a backup is not followed twice in one claim.
        ([refused(), refused()], 2, "backup target refused too: TargetRefused"),
    ],
    ids=["no-backup", "backup-refused", "once-only"],
)
def test_the_worker_dead_letters_a_refusal_it_cannot_route_around(
    store: Store,
    metrics: DeliveryMetrics,
    script: list[BaseException],
    calls: int,
    reason: str,
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=script)
    assert make_worker(store, {"zendesk": creator}, metrics).run_once() == 1
    view = only(store)
    assert (view.state, view.attempts, len(creator.calls)) == ("dead", calls, calls)
    assert view.last_error is not None
    assert view.last_error.startswith(reason)
    assert store.ticket_link("h-1") is None


def test_no_backup_call_once_max_attempts_calls_were_made(
    store: Store, metrics: DeliveryMetrics
) -> None:
    store.add_handoff(make_handoff(), "zendesk")
    creator = FakeCreator(script=[refused()])
    policy = RetryPolicy(max_attempts=1, quick_initial=0.01, quick_max=0.05)
    assert make_worker(store, {"zendesk": creator}, metrics, policy=policy).run_once() == 1
    assert creator.backups == [False]
    assert (only(store).state, only(store).attempts) == ("dead", 1)


# ------------------------------------------------------------------------------ migration 0003


def test_migration_0003_keeps_old_links_and_records_the_target(database: Database) -> None:
    """A link made before 0003 reads back with no route; a link made after has one; 0003
    goes down and up again cleanly."""
    store = database.new_store()
    try:
        with store.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0002")
        store.add_handoff(make_handoff("h-old"), "zendesk")
        store.add_handoff(make_handoff("h-new"), "zendesk")
        insert = sa.text(
            "INSERT INTO ticket_links (handoff_id, platform, ticket_id, ticket_url, created_at)"
            " VALUES ('h-old', 'zendesk', '1', NULL, :at)"
        )
        with store.engine.begin() as conn:
            conn.execute(insert, {"at": datetime(2026, 3, 1, 12, 0)})  # naive: raw SQL
        store.migrate()

        old = store.ticket_link("h-old")
        assert old is not None
        assert (old.ticket_id, old.route, old.target, old.backup) == ("1", None, None, None)
        claimed = next(c for c in store.claim_deliveries("w") if c.handoff_id == "h-new")
        store.complete_delivery(
            claimed.delivery_id,
            "w",
            ticket_id="2",
            ticket_url=None,
            route="r" * 300,  # cut to the column
            target="group General Support",
            backup=True,
        )
        new = store.ticket_link("h-new")
        assert new is not None
        assert (new.route, new.target, new.backup) == ("r" * 256, "group General Support", True)

        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")
        with store.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("ticket_links")}
        assert not {"route", "target", "backup"} & columns
        store.migrate()
        assert store.ticket_link("h-new") == dataclasses.replace(
            new, route=None, target=None, backup=None
        )
    finally:
        store.close()
