"""ToyDesk as a Baton platform: the plugin ``BATON_PLUGINS=tests.support.toydesk:plugin`` loads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from baton.core.catalog import Catalog
from baton.core.mapping.compiler import CompiledMapping
from baton.core.mapping.limits import SizeLimit
from baton.core.mapping.render import TicketDraft
from baton.core.mapping.spec import MappingBase, RuleBase, TargetBase
from baton.core.mapping.targets import Report, Target
from baton.core.mapping.wire import PlannedRequest
from baton.core.plugin import LocalSandbox, PlatformPlugin
from tests.support.toydesk import facts
from tests.support.toydesk.mapping import ToydeskMapping, toydesk_requests, toydesk_target

if TYPE_CHECKING:
    from baton.core.ports import Connector


class ToydeskPlugin(PlatformPlugin):
    """Tickets in queues, with the note as an internal field; plain httpx underneath."""

    name: ClassVar[str] = facts.PLATFORM
    title: ClassVar[str] = facts.TITLE
    mapping_model = ToydeskMapping
    note_limit: ClassVar[SizeLimit] = SizeLimit(facts.NOTE_MAX_CHARS)
    priority_values: ClassVar[tuple[str, ...]] = facts.PRIORITIES
    separate_note: ClassVar[bool] = True  # posted after the create: the O7 stub

    def resolve_target(
        self,
        target: TargetBase | RuleBase,
        path: list[str | int],
        catalog: Catalog,
        report: Report,
    ) -> Target:
        """queue → queue_id."""
        return toydesk_target(target, path, catalog, report)

    def known_statuses(self, spec: MappingBase, catalog: Catalog) -> list[str]:
        """ToyDesk's fixed ticket statuses."""
        return list(facts.STATUSES)

    def build_requests(self, draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
        """One ``POST /api/tickets`` carrying everything."""
        return toydesk_requests(draft, mapping)

    def make_connector(self, mapping: CompiledMapping | None, env: Mapping[str, str]) -> Connector:
        """The httpx connector from ``BATON_TOYDESK_*`` (see :mod:`.connector`)."""
        from tests.support.toydesk.connector import ToydeskConnector

        return ToydeskConnector.from_env(mapping, env)

    def start_sandbox(
        self,
        catalog: Catalog,
        *,
        port: int,
        rate_limit: int,
        clock: Callable[[], datetime] | None,
    ) -> LocalSandbox:
        """The ToyDesk sandbox on 127.0.0.1:``port``, its queues seeded from ``catalog``."""
        from tests.support.toydesk.local import start_local_toydesk

        return start_local_toydesk(catalog, port=port, rate_limit=rate_limit, clock=clock)


plugin = ToydeskPlugin()
