"""Zendesk Support, on zenpy: everything on Baton's side that makes Zendesk itself.

=================  ==========================================================================
``plugin``         :class:`ZendeskPlugin`, what the registry lists
``facts``          the Zendesk facts Baton relies on (paths, headers, limits, vocabularies)
``mapping``        the Zendesk part of a mapping file, its targets and its create request
``http``           settings, the rate-limited zenpy client, the one error classification
``connector``      :class:`ZendeskConnector`: creates, catalog refresh, webhooks, sync
``events``         webhook bodies: signature check and event reading
``sync``           incremental export pages → dispositions
``local``          the sandbox started for the embedded default and the demo
=================  ==========================================================================

Importing this package loads no SDK: the connector (zenpy) and the sandbox are imported when
the plugin is asked for them.
"""

from baton.connectors.zendesk.plugin import ZendeskPlugin, plugin

__all__ = ["ZendeskPlugin", "plugin"]
