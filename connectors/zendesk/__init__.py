"""Zendesk Support, on zenpy: everything on Baton's side that makes Zendesk itself.

=================  ==========================================================================
``facts``          the Zendesk facts Baton relies on (paths, headers, limits, vocabularies)
``http``           settings, the rate-limited zenpy client, the one error classification
``connector``      :class:`ZendeskConnector`: creates, catalog refresh, webhooks, sync
``events``         webhook bodies: signature check and event reading
``sync``           incremental export pages → dispositions
=================  ==========================================================================

Importing this package registers the connector (``connectors.base.register``).
"""

from baton.connectors.zendesk.connector import ZendeskConnector

__all__ = ["ZendeskConnector"]
