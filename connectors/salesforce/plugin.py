"""Salesforce Service Cloud cases: the mapping side (the connector comes with its own issue)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.mapping import (
    SalesforceMapping,
    salesforce_requests,
    salesforce_target,
)
from baton.core.catalog import Catalog
from baton.core.mapping.compiler import CompiledMapping
from baton.core.mapping.limits import SizeLimit
from baton.core.mapping.render import TicketDraft
from baton.core.mapping.spec import MappingBase, RuleBase, TargetBase
from baton.core.mapping.targets import Report, Target, check_api_name
from baton.core.mapping.wire import PlannedRequest
from baton.core.plugin import LocalSandbox, PlatformPlugin

if TYPE_CHECKING:
    from baton.core.ports import Connector


class SalesforcePlugin(PlatformPlugin):
    """Cases upserted on an external-id field, the note as a private CaseComment."""

    name: ClassVar[str] = facts.PLATFORM
    title: ClassVar[str] = "Salesforce"
    mapping_model = SalesforceMapping
    note_limit: ClassVar[SizeLimit] = SizeLimit(facts.COMMENT_MAX_BYTES, "bytes")
    note_is_html: ClassVar[bool] = False
    native_tags: ClassVar[bool] = False
    separate_note: ClassVar[bool] = True  # a CaseComment / note object after the upsert
    priority_field: ClassVar[str | None] = facts.PRIORITY_FIELD

    def resolve_target(
        self,
        target: TargetBase | RuleBase,
        path: list[str | int],
        catalog: Catalog,
        report: Report,
    ) -> Target:
        """queue or owner → OwnerId."""
        return salesforce_target(target, path, catalog, report)

    def check_mapping(self, spec: MappingBase, catalog: Catalog, report: Report) -> None:
        """The external-id field must be named by its API name."""
        assert isinstance(spec, SalesforceMapping)
        check_api_name(catalog, ["external_id_field"], spec.external_id_field, report)

    def known_statuses(self, spec: MappingBase, catalog: Catalog) -> list[str]:
        """The Case Status picklist's values."""
        status = catalog.field(facts.STATUS_FIELD)
        return [option.name for option in status.options] if status else []

    def build_requests(self, draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
        """An upsert on the external-id field, then the note as a private CaseComment."""
        return salesforce_requests(draft, mapping)

    def start_sandbox(
        self,
        catalog: Catalog,
        *,
        port: int,
        rate_limit: int,
        clock: Callable[[], datetime] | None,
    ) -> LocalSandbox:
        """The Salesforce sandbox on 127.0.0.1:``port``, seeded from ``catalog``."""
        from baton.connectors.salesforce.local import start_local_salesforce

        return start_local_salesforce(catalog, port=port, rate_limit=rate_limit, clock=clock)

    def make_connector(self, mapping: CompiledMapping | None, env: Mapping[str, str]) -> Connector:
        """The simple-salesforce connector from ``BATON_SALESFORCE_*`` (see :mod:`.connector`)."""
        from baton.connectors.salesforce.connector import SalesforceConnector

        return SalesforceConnector.from_env(mapping, env)


plugin = SalesforcePlugin()
