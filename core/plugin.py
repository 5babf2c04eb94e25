"""The platform plugin: everything that makes a help desk itself, as one object.

Core is the platform-free engine. What differs between help desks hangs off one
:class:`PlatformPlugin` per platform: its mapping model and target resolution, the requests
a ticket draft becomes, the note's size limit and format, the statuses its dispositions come
from, the connector on its SDK (which is also its webhook source and change feed), and the
local sandbox the embedded default and the demo run. Core, the CLI, the embedded default and
the demo find plugins through :func:`registry` and loop over it; nothing in core names a
platform.

Plugins are found in two places, so that a platform that is not part of Baton needs no edit
of Baton:

* the ``baton.platforms`` entry point group: each entry names a plugin, or a sequence of
  plugins (Baton's own are listed once, in ``connectors/plugins.py``, through this group);
* ``BATON_PLUGINS=module:object[,module:object…]``: the same, without packaging.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from baton.core.errors import ConfigError, NotConfigured
from baton.core.handoff import PLATFORM_NAME_PATTERN

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from baton.core.catalog import Catalog
    from baton.core.mapping.compiler import CompiledMapping
    from baton.core.mapping.limits import SizeLimit
    from baton.core.mapping.render import TicketDraft
    from baton.core.mapping.spec import MappingBase, RuleBase, TargetBase
    from baton.core.mapping.targets import Report, Target
    from baton.core.mapping.wire import PlannedRequest
    from baton.core.ports import Connector

ENTRY_POINT_GROUP = "baton.platforms"
PLUGINS_ENV = "BATON_PLUGINS"
DISTRIBUTION = "baton-handoff"
_NAME = re.compile(PLATFORM_NAME_PATTERN)


@dataclass(frozen=True)
class TicketSummary:
    """How a sandbox ticket looks to the demo's ticket table."""

    group: str | None
    assignee: str | None
    priority: str | None
    tags: list[str]


class DemoAgents(Protocol):
    """The sandbox's human agents, as ``baton demo`` drives them (ids as Baton stores them)."""

    def summary(self, ticket_id: str) -> TicketSummary:
        """Where the ticket is and how it is marked."""
        ...

    def reply(self, ticket_id: str, text: str) -> None:
        """A public agent reply."""
        ...

    def reassign(self, ticket_id: str, group: str) -> None:
        """Move the ticket to another group or queue, by name."""
        ...

    def solve(self, ticket_id: str) -> None:
        """Mark the ticket solved."""
        ...

    def rate(self, ticket_id: str, good: bool, comment: str | None = None) -> None:
        """The customer's satisfaction rating."""
        ...

    def reopen(self, ticket_id: str) -> None:
        """The customer writes back."""
        ...

    def webhooks_lost(self) -> AbstractContextManager[None]:
        """While inside, changes send no webhook (the service is "unreachable")."""
        ...

    def clock_at(self, when: datetime) -> None:
        """Set the sandbox's time to ``when``, earlier or later; it runs on from there. What
        the agents do next happens then, as the platform's own timestamps and metrics show."""
        ...


class LocalSandbox(Protocol):
    """A platform's sandbox running on 127.0.0.1, and the settings that point Baton at it."""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        ...

    @property
    def env(self) -> Mapping[str, str]:
        """The ``BATON_<PLATFORM>_*`` settings (webhook secret included) for this sandbox."""
        ...

    @property
    def agents(self) -> DemoAgents | None:
        """The demo's hands on the sandbox; None when the sandbox has none."""
        ...

    def send_webhooks_to(self, url: str) -> None:
        """Subscribe ``url`` to the sandbox's signed webhooks (no-op if it sends none)."""
        ...

    def wait_idle(self, timeout: float) -> None:
        """Wait until every queued webhook has been delivered (or ``timeout`` passes)."""
        ...

    def stop(self) -> None:
        """Stop serving and sending webhooks."""
        ...


class PlatformPlugin:
    """One help-desk platform. Subclass it, set the class attributes, override what differs.

    The mapping side (everything ``baton mappings validate`` and ``preview`` need) is
    required. The delivery side is optional: a plugin without :meth:`make_connector` can be
    validated and previewed but not enabled; one without :meth:`start_sandbox` is left out
    of the embedded default.
    """

    name: ClassVar[str]
    """Registry key, mapping file stem, ``/webhooks/<name>`` segment, settings prefix."""
    title: ClassVar[str]
    """How people write it: ``Zendesk``."""
    mapping_model: ClassVar[type[MappingBase]]
    """The pydantic model of ``<name>.yaml``: a ``MappingBase`` with ``platform: Literal[name]``."""
    note_limit: ClassVar[SizeLimit]
    note_is_html: ClassVar[bool] = True
    separate_note: ClassVar[bool] = False
    """True when the note is a request of its own after the create, with no idempotency key of
    its own: the note then opens with a marker naming the handoff, and the connector posts it
    with ``connectors.base.post_note_once`` (RELIABILITY O7). False: the note travels in the
    create itself (Zendesk's first comment) and is exactly-once with it."""
    native_tags: ClassVar[bool] = True
    """False: the mapping must name a text field (``tags.field``) to hold tags."""
    priority_field: ClassVar[str | None] = None
    """A catalog field whose options are the platform's priorities; None: ``priority_values``."""
    priority_values: ClassVar[tuple[str, ...]] = ()

    @property
    def settings_prefix(self) -> str:
        """``BATON_<NAME>_``: setting any variable with it enables the platform."""
        return f"BATON_{self.name.upper()}_"

    # The mapping side -------------------------------------------------------------------

    def resolve_target(
        self,
        target: TargetBase | RuleBase,
        path: list[str | int],
        catalog: Catalog,
        report: Report,
    ) -> Target:
        """A routing target (or rule) by name → the platform's keys and ids; report unknowns."""
        raise NotImplementedError

    def prepare_rule(self, rule: RuleBase, default: TargetBase, resolved: Target) -> RuleBase:
        """A routing rule before it is resolved; ``resolved`` is the default route's target."""
        return rule

    def check_mapping(self, spec: MappingBase, catalog: Catalog, report: Report) -> None:
        """Checks of this platform's own beyond the shared ones; report each problem."""

    def known_statuses(self, spec: MappingBase, catalog: Catalog) -> list[str]:
        """The statuses (or stages) the ``dispositions`` map may name."""
        raise NotImplementedError

    def build_requests(self, draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
        """The exact HTTP requests that create the ticket for ``draft`` (nothing is sent)."""
        raise NotImplementedError

    # The delivery side -------------------------------------------------------------------

    @property
    def delivers(self) -> bool:
        """Whether this plugin has a connector (overrides :meth:`make_connector`)."""
        return type(self).make_connector is not PlatformPlugin.make_connector

    def make_connector(self, mapping: CompiledMapping | None, env: Mapping[str, str]) -> Connector:
        """The connector on the platform's SDK, from its ``BATON_<NAME>_*`` settings.

        ``mapping`` is None only for catalog work (``baton mappings resolve``).
        """
        raise ConfigError(f"{self.title} has no connector yet: it can be validated and previewed")

    @property
    def has_sandbox(self) -> bool:
        """Whether this plugin runs a local sandbox (overrides :meth:`start_sandbox`)."""
        return type(self).start_sandbox is not PlatformPlugin.start_sandbox

    def start_sandbox(
        self,
        catalog: Catalog,
        *,
        port: int,
        rate_limit: int,
        clock: Callable[[], datetime] | None,
    ) -> LocalSandbox:
        """Start the platform's sandbox on 127.0.0.1:``port``, seeded from ``catalog``."""
        raise ConfigError(f"{self.title} has no local sandbox")


@dataclass(frozen=True)
class Registry:
    """The platforms Baton knows, in the order they were listed (Baton's own first)."""

    plugins: Mapping[str, PlatformPlugin]
    built_in: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every registered platform name."""
        return tuple(self.plugins)

    def __iter__(self) -> Iterator[PlatformPlugin]:
        return iter(self.plugins.values())

    def __contains__(self, name: object) -> bool:
        return name in self.plugins

    def get(self, name: str) -> PlatformPlugin:
        """The plugin for ``name``; ConfigError naming the known ones."""
        try:
            return self.plugins[name]
        except KeyError:
            known = ", ".join(self.plugins) or "none"
            raise ConfigError(f"unknown platform '{name}'; known: {known}") from None

    def with_settings(self, env: Mapping[str, str]) -> list[PlatformPlugin]:
        """Platforms meant to be on: any of their ``BATON_<NAME>_*`` settings is given."""
        return [p for p in self if has_settings(p, env)]


def has_settings(plugin: PlatformPlugin, env: Mapping[str, str]) -> bool:
    """Whether any ``BATON_<NAME>_*`` setting of ``plugin`` is given."""
    prefix = plugin.settings_prefix
    return any(name.startswith(prefix) and value.strip() for name, value in env.items())


def require_settings(plugin: PlatformPlugin, env: Mapping[str, str]) -> None:
    """NotConfigured unless some ``BATON_<NAME>_*`` setting is given (the platform is off)."""
    if not has_settings(plugin, env):
        raise NotConfigured(f"none of the {plugin.settings_prefix}* settings is set")


def _plugins_in(value: Any, where: str) -> list[PlatformPlugin]:
    items = list(value) if isinstance(value, Iterable) else [value]
    for item in items:
        if not isinstance(item, PlatformPlugin):
            raise ConfigError(f"{where}: {type(item).__name__} is not a PlatformPlugin")
        if not isinstance(getattr(item, "name", None), str) or not _NAME.fullmatch(item.name):
            raise ConfigError(f"{where}: a platform name must match {PLATFORM_NAME_PATTERN}")
    return items


def _load_object(spec: str) -> Any:
    module, _, attribute = spec.strip().partition(":")
    if not module or not attribute:
        raise ConfigError(f"{PLUGINS_ENV}: '{spec}' is not module:object")
    try:
        loaded: Any = importlib.import_module(module)
        for part in attribute.split("."):
            loaded = getattr(loaded, part)
    except ImportError as exc:
        missing = f": no module named '{exc.name}'" if exc.name else ""
        raise ConfigError(f"{PLUGINS_ENV}: cannot import '{module}'{missing}") from exc
    except AttributeError as exc:
        raise ConfigError(f"{PLUGINS_ENV}: '{module}' has no '{attribute}'") from exc
    return loaded


@cache
def _registry(plugins_setting: str) -> Registry:
    found: dict[str, PlatformPlugin] = {}
    built_in: list[str] = []

    def add(items: list[PlatformPlugin], where: str, ours: bool) -> None:
        for item in items:
            if item.name in found and found[item.name] is not item:
                raise ConfigError(f"{where}: platform '{item.name}' is registered twice")
            found[item.name] = item
            if ours:
                built_in.append(item.name)

    listed = sorted(
        entry_points(group=ENTRY_POINT_GROUP),
        key=lambda ep: (getattr(ep.dist, "name", "") != DISTRIBUTION, ep.name),
    )
    for point in listed:
        where = f"entry point {ENTRY_POINT_GROUP}:{point.name}"
        ours = getattr(point.dist, "name", "") == DISTRIBUTION
        add(_plugins_in(point.load(), where), where, ours)
    for spec in filter(None, (s.strip() for s in plugins_setting.split(","))):
        add(_plugins_in(_load_object(spec), f"{PLUGINS_ENV}={spec}"), PLUGINS_ENV, False)
    return Registry(found, tuple(built_in))


def registry() -> Registry:
    """Every platform Baton knows: its own, entry points, then ``BATON_PLUGINS``.

    One registry per process: ``BATON_PLUGINS`` is read from the process environment, never
    from settings handed to a connector, so every part of Baton sees the same platforms.
    """
    return _registry(os.environ.get(PLUGINS_ENV, ""))


def plugin(name: str) -> PlatformPlugin:
    """The registered plugin called ``name``; ConfigError naming the known ones."""
    return registry().get(name)
