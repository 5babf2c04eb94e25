"""The Connector interface every platform implements, and the registry.

A new platform is one package here (``connectors/<platform>/``, as ``connectors/zendesk/``)
whose connector subclasses :class:`Connector` and is decorated with :func:`register`; the
contract suite in ``tests/contract`` then runs against it.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import ClassVar, TypeVar

from baton.core.catalog import Catalog
from baton.core.errors import ConfigError, NotConfigured
from baton.core.handoff import Handoff, Platform
from baton.core.mapping import CompiledMapping, load_mapping
from baton.core.ports import ChangePage, TicketRef, WebhookEvent


class Connector(ABC):
    """One help-desk platform, through its own SDK.

    Implements the ports in :mod:`core.ports` (TicketCreator, ChangeFeed, WebhookSource) plus
    catalog refresh. Settings come from ``BATON_<PLATFORM>_*`` environment variables.
    """

    platform: ClassVar[Platform]

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


BUILT_IN = ("baton.connectors.zendesk",)
_REGISTRY: dict[str, type[Connector]] = {}
C = TypeVar("C", bound=type[Connector])


def register(cls: C) -> C:
    """Class decorator: make a connector available under its platform name."""
    _REGISTRY[cls.platform] = cls
    return cls


def registered() -> dict[str, type[Connector]]:
    """Every registered connector by platform (importing the built-in ones first)."""
    for module in BUILT_IN:
        importlib.import_module(module)  # each registers itself
    return dict(_REGISTRY)


def has_settings(platform: Platform, env: Mapping[str, str]) -> bool:
    """Whether any ``BATON_<PLATFORM>_*`` setting is given: the platform is meant to be on."""
    prefix = f"BATON_{platform.upper()}_"
    return any(name.startswith(prefix) and value.strip() for name, value in env.items())


def connector_for(
    platform: Platform, mapping: CompiledMapping | None, env: Mapping[str, str] | None = None
) -> Connector:
    """The configured connector for ``platform``.

    NotConfigured when none of its ``BATON_<PLATFORM>_*`` settings is set (the platform is not
    enabled); ConfigError naming the problem when some are set but they do not work.
    """
    env = os.environ if env is None else env
    if not has_settings(platform, env):
        raise NotConfigured(f"none of the BATON_{platform.upper()}_* settings is set")
    known = registered()
    if platform not in known:
        raise ConfigError(f"no connector for '{platform}' yet; available: {', '.join(known)}")
    return known[platform].from_env(mapping, env)


def configured_connector(
    platform: Platform, mappings_dir: Path, env: Mapping[str, str] | None = None
) -> Connector:
    """The one rule for enabling a platform: its connector, built from its mapping in
    ``mappings_dir`` and its ``BATON_<PLATFORM>_*`` settings.

    NotConfigured when none of those settings is set — checked before the mapping is read, so
    a platform nobody uses needs no valid mapping; ConfigError when some are set but they, or
    the mapping, do not work.
    """
    env = os.environ if env is None else env
    if not has_settings(platform, env):
        raise NotConfigured(f"none of the BATON_{platform.upper()}_* settings is set")
    return connector_for(platform, load_mapping(mappings_dir, platform), env)
