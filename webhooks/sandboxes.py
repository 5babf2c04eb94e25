"""The local sandboxes of every registered platform that has one: ports, start, stop.

``baton sandbox``, ``baton serve --sandbox`` and ``baton demo`` start them through here, so
they agree on which platforms run and on which ports. Ports come from one option,
``--sandbox-ports``: a base port (each sandbox gets the next one, in registry order) or
``name=port`` pairs (``zendesk=8601,toydesk=8650``; unnamed platforms then take free ports).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from baton.core.catalog import load_catalog
from baton.core.errors import ConfigError
from baton.core.plugin import LocalSandbox, PlatformPlugin, registry

DEFAULT_RATE_LIMIT = 700
_MAX_PORT = 65535


@dataclass(frozen=True)
class SandboxPorts:
    """Where each sandbox listens: a base port, or a port per platform name (0: any free)."""

    base: int | None = 0
    named: Mapping[str, int] | None = None

    def port_for(self, index: int, name: str) -> int:
        """The port of the ``index``-th sandboxed platform, called ``name``."""
        if self.named is not None:
            return self.named.get(name, 0)
        if not self.base:
            return 0
        return self.base + index


ANY_FREE = SandboxPorts(base=0)


def parse_sandbox_ports(text: str) -> SandboxPorts:
    """``8601`` or ``zendesk=8601,toydesk=8650`` → :class:`SandboxPorts`; ConfigError on junk."""
    text = text.strip()
    if "=" not in text:
        return SandboxPorts(base=_port(text, "--sandbox-ports"))
    named: dict[str, int] = {}
    known = registry()
    for pair in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = pair.partition("=")
        name = name.strip()
        if name not in known:
            raise ConfigError(f"--sandbox-ports: '{name}' is not one of {', '.join(known.names)}")
        named[name] = _port(value, f"--sandbox-ports {name}")
    return SandboxPorts(base=None, named=named)


def _port(text: str, where: str) -> int:
    try:
        port = int(text.strip())
    except ValueError:
        raise ConfigError(f"{where}: '{text.strip()}' is not a port number") from None
    if not 0 <= port <= _MAX_PORT:
        raise ConfigError(f"{where}: {port} is not a port (0 to {_MAX_PORT})")
    return port


def sandboxed_platforms() -> list[PlatformPlugin]:
    """Registered platforms with both a connector and a local sandbox, in registry order."""
    return [plugin for plugin in registry() if plugin.delivers and plugin.has_sandbox]


@dataclass
class RunningSandboxes:
    """The started sandboxes by platform name; :meth:`stop` stops them all."""

    running: dict[str, LocalSandbox]

    @property
    def env(self) -> dict[str, str]:
        """Every sandbox's ``BATON_<PLATFORM>_*`` settings together."""
        return {key: value for box in self.running.values() for key, value in box.env.items()}

    def stop(self) -> None:
        """Stop every sandbox."""
        for box in self.running.values():
            box.stop()


def start_sandboxes(
    mappings: Path,
    ports: SandboxPorts,
    *,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    clock: Callable[[], datetime] | None = None,
) -> RunningSandboxes:
    """Start each sandboxed platform's sandbox, seeded from its catalog in ``mappings``.

    A platform without its mapping file in ``mappings`` is left out; if one fails to start,
    those already started are stopped and the error is raised.
    """
    started = RunningSandboxes({})
    try:
        for index, plugin in enumerate(sandboxed_platforms()):
            if not (mappings / f"{plugin.name}.yaml").exists():
                continue
            catalog = load_catalog(mappings / "catalogs" / f"{plugin.name}.json")
            started.running[plugin.name] = plugin.start_sandbox(
                catalog,
                port=ports.port_for(index, plugin.name),
                rate_limit=rate_limit,
                clock=clock,
            )
    except BaseException:
        started.stop()
        raise
    if not started.running:
        raise ConfigError(f"no platform with a local sandbox has a mapping in {mappings}")
    return started
