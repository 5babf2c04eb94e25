"""Salesforce Service Cloud cases (mapping side; the connector is still to come)."""

from baton.connectors.salesforce.plugin import SalesforcePlugin, plugin

__all__ = ["SalesforcePlugin", "plugin"]
