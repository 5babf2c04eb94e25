"""The HubSpot sandbox on a manual clock, for the connector's tests: one portal per test, the
connectors made on it closed afterwards, and the state read the sandbox's way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from baton.connectors.hubspot.connector import HubSpotConnector
from baton.core.catalog import load_catalog
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, load_mapping
from baton.sandbox.clock import ManualClock
from baton.sandbox.hubspot import HubSpotSandbox, HubSpotState
from tests.contract.helpers import new_handoff
from tests.support.paths import MAPPINGS

SEARCH_PATH = "/crm/v3/objects/tickets/search"
# Request-log patterns and names the connector's tests share.
TICKETS = r"^/crm/v3/objects/tickets$"
NOTES = r"^/crm/v3/objects/notes$"
SEARCH = r"^/crm/v3/objects/tickets/search$"
CONTACT_SEARCH = "/crm/v3/objects/contacts/search"
CONTACTS = "/crm/v3/objects/contacts"
BACKUP_LABEL = "pipeline Support Pipeline / New"
MAYA = "81000001"  # the owner the shipped mapping's VIP rule routes to


@dataclass
class Portal:
    """The sandbox's state, its clock, the settings pointing a connector at it."""

    state: HubSpotState
    clock: ManualClock
    env: dict[str, str]
    mapping: CompiledMapping
    made: list[HubSpotConnector] = field(default_factory=list)
    serial: int = 0

    def connector(self, page_limit: int | None = None, **env: str) -> HubSpotConnector:
        """A connector on the portal (closed when the test ends)."""
        connector = HubSpotConnector.from_env(self.mapping, {**self.env, **env})
        if page_limit is not None:
            connector.page_limit = page_limit
        self.made.append(connector)
        return connector

    def calls(self) -> list[tuple[str, str]]:
        """Every logged request as (method, path)."""
        return [(e.method, e.path) for e in self.state.request_log.entries()]

    def posts(self) -> Counter[str]:
        """The logged POSTs by path."""
        return Counter(e.path for e in self.state.request_log.entries() if e.method == "POST")

    def searches(self) -> list[int | None]:
        """The statuses of the ticket searches, in order."""
        return [
            e.status
            for e in self.state.request_log.entries()
            if e.method == "POST" and e.path == SEARCH_PATH
        ]

    def tickets(self, handoff_id: str) -> list[str]:
        """Live tickets carrying ``handoff_id``."""
        with self.state.lock:
            return [
                t.id
                for t in self.state.records["tickets"].values()
                if not t.archived and t.properties.get("baton_handoff_id") == handoff_id
            ]

    def notes(self, ticket_id: str) -> list[str]:
        """The bodies of the ticket's notes."""
        with self.state.lock:
            return [
                str(self.state.records["notes"][nid].properties.get("hs_note_body") or "")
                for nid, _ in self.state.associated("tickets", ticket_id, "notes")
            ]

    def contacts(self, ticket_id: str) -> list[str]:
        """The ids of the contacts the ticket is associated with."""
        return [cid for cid, _ in self.state.associated("tickets", ticket_id, "contacts")]

    def ticket(self, handoff_id: str | None = "auto", **props: Any) -> str:
        """A ticket as Baton made it (with its handoff id), or an agent's own (None)."""
        self.serial += 1
        values: dict[str, Any] = {
            "subject": f"ticket {self.serial}",
            "hs_pipeline": "0",
            "hs_pipeline_stage": "1",
            **props,
        }
        if handoff_id is not None:
            values["baton_handoff_id"] = (
                f"sync-{self.serial:05d}" if handoff_id == "auto" else handoff_id
            )
        return self.state.create("tickets", values, "INTEGRATION").id


@contextmanager
def running_portal(start: datetime) -> Iterator[Portal]:
    """A portal seeded from the shipped catalog, its clock standing at ``start``."""
    catalog = load_catalog(MAPPINGS / "catalogs" / "hubspot.json")
    clock = ManualClock(start)
    state = HubSpotState.from_catalog(
        catalog, clock=clock, ten_second_limit=10**6, daily_limit=10**9
    )
    with HubSpotSandbox(state) as sandbox:
        env = {
            "BATON_HUBSPOT_ACCESS_TOKEN": sandbox.access_token,
            "BATON_HUBSPOT_PORTAL_ID": str(state.portal_id),
            "BATON_HUBSPOT_HOST_OVERRIDE": sandbox.base_url,
            "BATON_HUBSPOT_RATE_LIMIT": "100000",
            "BATON_HUBSPOT_TIMEOUT": "10",
        }
        portal = Portal(state, clock, env, load_mapping(MAPPINGS, "hubspot"))
        try:
            yield portal
        finally:
            for connector in portal.made:
                connector.close()


def customer(handoff: Handoff, **update: object) -> Handoff:
    """``handoff`` with its customer changed."""
    return handoff.model_copy(update={"customer": handoff.customer.model_copy(update=update)})


def plain(email: str | None = None, **update: object) -> Handoff:
    """A non-VIP handoff (the default route: Support Pipeline / New, no owner)."""
    return customer(new_handoff(), tier="standard", email=email, phone=None, **update)
