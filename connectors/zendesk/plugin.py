"""Zendesk Support as a Baton platform: the plugin the registry lists."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from baton.connectors.zendesk import facts
from baton.connectors.zendesk.mapping import ZendeskMapping, zendesk_requests, zendesk_target
from baton.core.catalog import Catalog
from baton.core.mapping.compiler import CompiledMapping
from baton.core.mapping.limits import SizeLimit
from baton.core.mapping.render import TicketDraft
from baton.core.mapping.spec import MappingBase, RuleBase, TargetBase
from baton.core.mapping.targets import Report, Target
from baton.core.mapping.wire import PlannedRequest
from baton.core.plugin import LocalSandbox, PlatformPlugin

if TYPE_CHECKING:
    from baton.core.ports import Connector


class ZendeskPlugin(PlatformPlugin):
    """Tickets with the note as their first, internal comment; zenpy underneath."""

    name: ClassVar[str] = facts.PLATFORM
    title: ClassVar[str] = "Zendesk"
    mapping_model = ZendeskMapping
    note_limit: ClassVar[SizeLimit] = SizeLimit(facts.NOTE_MAX_CHARS)
    priority_values: ClassVar[tuple[str, ...]] = facts.PRIORITIES

    def resolve_target(
        self,
        target: TargetBase | RuleBase,
        path: list[str | int],
        catalog: Catalog,
        report: Report,
    ) -> Target:
        """group → group_id, assignee → assignee_id."""
        return zendesk_target(target, path, catalog, report)

    def check_mapping(self, spec: MappingBase, catalog: Catalog, report: Report) -> None:
        """The note is the ticket's description on Zendesk: a separate one is refused."""
        if spec.description is not None:
            report(["description"], "on Zendesk the internal note is the description; remove this")

    def known_statuses(self, spec: MappingBase, catalog: Catalog) -> list[str]:
        """Zendesk's fixed ticket statuses."""
        return list(facts.STATUSES)

    def build_requests(self, draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
        """One create carrying everything, idempotent through its key and external_id."""
        return zendesk_requests(draft, mapping)

    def make_connector(self, mapping: CompiledMapping | None, env: Mapping[str, str]) -> Connector:
        """The zenpy connector from ``BATON_ZENDESK_*`` (see :mod:`.connector`)."""
        from baton.connectors.zendesk.connector import ZendeskConnector

        return ZendeskConnector.from_env(mapping, env)

    def start_sandbox(
        self,
        catalog: Catalog,
        *,
        port: int,
        rate_limit: int,
        clock: Callable[[], datetime] | None,
    ) -> LocalSandbox:
        """The Zendesk sandbox on 127.0.0.1:``port``, seeded from ``catalog``."""
        from baton.connectors.zendesk.local import start_local_zendesk

        return start_local_zendesk(catalog, port=port, rate_limit=rate_limit, clock=clock)


plugin = ZendeskPlugin()
