"""The Connector base class platforms implement, and the one rule for enabling a platform.

A new platform is one package here (``connectors/<platform>/``, as ``connectors/zendesk/``)
holding its :class:`~baton.core.plugin.PlatformPlugin`, whose ``make_connector`` returns a
subclass of :class:`Connector`; the contract suite in ``tests/contract`` then runs against it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from baton.core.catalog import Catalog
from baton.core.disposition import Disposition
from baton.core.errors import IdempotencyConflict
from baton.core.handoff import Handoff
from baton.core.mapping import CompiledMapping, load_mapping
from baton.core.mapping.note import carries_note_marker
from baton.core.plugin import registry, require_settings
from baton.core.ports import ChangePage, TicketRef, WebhookEvent, WebhookReply
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
    def create_ticket(
        self, handoff: Handoff, *, first_attempt: bool = True, use_backup: bool = False
    ) -> TicketRef:
        """Create the ticket for ``handoff`` exactly once, whatever happened before.

        ``first_attempt=False``: an earlier attempt may have reached the platform; find its
        ticket before creating one. ``use_backup=True``: send it to the mapping's backup
        target (``plan_requests(..., use_backup=True)``); raise TargetRefused, with the backup's
        label unless it was the target refused, when the platform refuses the target.
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

    def acknowledge(self, received: int, duplicates: int) -> WebhookReply | None:
        """The answer to a recorded webhook; None (the default): Baton's JSON answer."""
        return None

    def reread(self, ticket_id: str, event_id: str) -> Disposition | None:
        """A ticket read again after the ack (see core.ports); None (the default): never."""
        return None

    def refusal(self, status: int, reason: str) -> WebhookReply | None:
        """The answer to a refused webhook (see core.ports); None (the default): Baton's JSON."""
        return None

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


def post_note_once(
    handoff_id: str,
    *,
    first_attempt: bool,
    existing_notes: Callable[[], Iterable[str]],
    post: Callable[[], object],
) -> bool:
    """Post a separate note exactly once (RELIABILITY O7); True when it was posted now.

    A first attempt posts at once, at no extra call. A retry — an earlier attempt may have
    posted it before the outcome was lost — first reads the ticket's notes and posts only when
    none carries this handoff's marker (:func:`baton.core.mapping.note.note_marker`).
    """
    if not first_attempt and any(carries_note_marker(t, handoff_id) for t in existing_notes()):
        return False
    post()
    return True


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
