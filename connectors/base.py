"""The Connector base class platforms implement, and the one rule for enabling a platform.

A new platform is one package here (``connectors/<platform>/``, as ``connectors/zendesk/``)
holding its :class:`~baton.core.plugin.PlatformPlugin`, whose ``make_connector`` returns a
subclass of :class:`Connector`; the contract suite in ``tests/contract`` then runs against it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from baton.core.catalog import Catalog
from baton.core.errors import IdempotencyConflict
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, load_mapping
from baton.core.plugin import registry, require_settings
from baton.core.ports import ChangePage, TicketRef, WebhookEvent
from baton.core.ports import Connector as PlatformConnector


class Connector(ABC):
    """One help-desk platform, through its own SDK.

    Implements the ports in :mod:`core.ports` (TicketCreator, ChangeFeed, WebhookSource) plus
    catalog refresh. Settings come from ``BATON_<PLATFORM>_*`` environment variables.
    """

    platform: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_env(cls, mapping: CompiledMapping | None, env: Mapping[str, str]) -> Connector:
        """Build the connector from environment settings; ConfigError names a missing one.

        ``mapping`` is None only for catalog work (``baton mappings resolve``), which must work
        while the mapping does not load yet; creating tickets needs it.
        """

    @abstractmethod
    def create_ticket(self, handoff: Handoff, *, first_attempt: bool = True) -> TicketRef:
        """Create the ticket for ``handoff`` exactly once, whatever happened before.

        ``first_attempt=False``: an earlier attempt may have reached the platform; find its
        ticket before creating one.
        """

    @abstractmethod
    def ticket_url(self, ticket_id: str) -> str:
        """Where a person opens the ticket (or the API's URL of it)."""

    @abstractmethod
    def refresh_catalog(self) -> Catalog:
        """Read fields, groups/queues, users/owners (and pipelines) from the live platform."""

    @abstractmethod
    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, now: datetime
    ) -> None:
        """Raise VerificationError unless the webhook is authentic (see core.ports)."""

    @abstractmethod
    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """The events in a verified webhook body."""

    @abstractmethod
    def changes(self, cursor: str | None, *, since: datetime) -> Iterator[ChangePage]:
        """Incremental changes after ``cursor`` (or ``since`` on the first run)."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections."""


def found_ticket(connector: Connector, ids: Sequence[str]) -> TicketRef | None:
    """The result of looking a handoff's ticket up by its id on the platform: None when no
    ticket carries it, the ticket when one does, IdempotencyConflict when several do."""
    if len(ids) > 1:
        raise IdempotencyConflict(
            "several tickets carry this handoff id",
            platform=connector.platform,
            code="MultipleMatches",
        )
    if not ids:
        return None
    return TicketRef(connector.platform, ids[0], connector.ticket_url(ids[0]), created=False)


def delivering_platforms() -> list[str]:
    """Registered platforms that have a connector, in the registry's order."""
    return [plugin.name for plugin in registry() if plugin.delivers]


def connector_for(
    platform: str, mapping: CompiledMapping | None, env: Mapping[str, str] | None = None
) -> PlatformConnector:
    """The configured connector for ``platform``.

    NotConfigured when none of its ``BATON_<PLATFORM>_*`` settings is set (the platform is not
    enabled); ConfigError naming the problem when the platform is unknown, has no connector,
    or its settings do not work.
    """
    env = os.environ if env is None else env
    plugin = registry().get(platform)
    require_settings(plugin, env)
    return plugin.make_connector(mapping, env)


def configured_connector(
    platform: str, mappings_dir: Path, env: Mapping[str, str] | None = None
) -> PlatformConnector:
    """The one rule for enabling a platform: its connector, built from its mapping in
    ``mappings_dir`` and its ``BATON_<PLATFORM>_*`` settings.

    NotConfigured when none of those settings is set — checked before the mapping is read, so
    a platform nobody uses needs no valid mapping; ConfigError when some are set but they, or
    the mapping, do not work.
    """
    env = os.environ if env is None else env
    require_settings(registry().get(platform), env)
    return connector_for(platform, load_mapping(mappings_dir, platform), env)
