"""HubSpot tickets (mapping side; the connector is still to come)."""

from baton.connectors.hubspot.plugin import HubspotPlugin, plugin

__all__ = ["HubspotPlugin", "plugin"]
