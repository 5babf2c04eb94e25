"""HubSpot tickets: the mapping, the connector and the local sandbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.mapping import (
    HubspotMapping,
    HubspotRule,
    HubspotTarget,
    hubspot_requests,
    hubspot_target,
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


class HubspotPlugin(PlatformPlugin):
    """Tickets keyed on a unique id property, the note as an associated note object."""

    name: ClassVar[str] = facts.PLATFORM
    title: ClassVar[str] = "HubSpot"
    mapping_model = HubspotMapping
    note_limit: ClassVar[SizeLimit] = SizeLimit(facts.NOTE_MAX_CHARS)
    native_tags: ClassVar[bool] = False
    separate_note: ClassVar[bool] = True  # a note object associated after the upsert
    priority_field: ClassVar[str | None] = facts.PRIORITY_PROPERTY

    def resolve_target(
        self,
        target: TargetBase | RuleBase,
        path: list[str | int],
        catalog: Catalog,
        report: Report,
    ) -> Target:
        """pipeline (+ stage) → hs_pipeline, hs_pipeline_stage; owner → hubspot_owner_id."""
        return hubspot_target(target, path, catalog, report)

    def prepare_rule(self, rule: RuleBase, default: TargetBase, resolved: Target) -> RuleBase:
        """A ticket always needs a pipeline: an owner-only rule keeps the default's."""
        assert isinstance(rule, HubspotRule)
        assert isinstance(default, HubspotTarget)
        if rule.pipeline is None and resolved.fields:
            return rule.model_copy(update={"pipeline": default.pipeline, "stage": default.stage})
        return rule

    def check_mapping(self, spec: MappingBase, catalog: Catalog, report: Report) -> None:
        """The default route names a pipeline; the id property by its API name."""
        assert isinstance(spec, HubspotMapping)
        if spec.routing.default.pipeline is None:
            report(["routing", "default", "pipeline"], "a HubSpot ticket needs a pipeline")
        check_api_name(catalog, ["id_property"], spec.id_property, report)
        if spec.csat_property is not None:
            check_api_name(catalog, ["csat_property"], spec.csat_property, report)

    def known_statuses(self, spec: MappingBase, catalog: Catalog) -> list[str]:
        """Every pipeline stage's name."""
        return [stage.name for pipeline in catalog.pipelines for stage in pipeline.stages]

    def build_requests(self, draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
        """The ticket with the handoff id in its unique property, then a note on it."""
        return hubspot_requests(draft, mapping)

    def start_sandbox(
        self,
        catalog: Catalog,
        *,
        port: int,
        rate_limit: int,
        clock: Callable[[], datetime] | None,
    ) -> LocalSandbox:
        """The HubSpot sandbox on 127.0.0.1:``port``, seeded from ``catalog``."""
        from baton.connectors.hubspot.local import start_local_hubspot

        return start_local_hubspot(catalog, port=port, rate_limit=rate_limit, clock=clock)

    def make_connector(self, mapping: CompiledMapping | None, env: Mapping[str, str]) -> Connector:
        """The hubspot-api-client connector from ``BATON_HUBSPOT_*`` (see :mod:`.connector`)."""
        from baton.connectors.hubspot.connector import HubSpotConnector

        return HubSpotConnector.from_env(mapping, env)


plugin = HubspotPlugin()
