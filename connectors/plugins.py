"""Baton's own platforms, listed once; the registry reads this through an entry point
(``[project.entry-points."baton.platforms"]`` in pyproject.toml)."""

from __future__ import annotations

from baton.connectors.hubspot.plugin import plugin as hubspot
from baton.connectors.salesforce.plugin import plugin as salesforce
from baton.connectors.zendesk.plugin import plugin as zendesk
from baton.core.plugin import PlatformPlugin

BUILT_IN: tuple[PlatformPlugin, ...] = (zendesk, salesforce, hubspot)
