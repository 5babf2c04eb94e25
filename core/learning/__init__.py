"""Learning from every escalation: what became of the handoffs, computed from stored facts.

==================  =========================================================================
``history``         one escalation as the report sees it: the handoff's features, its ticket
                    link, and its whole disposition history in the platform's order
``episodes``        a history cut into episodes (a reopen starts a new one)
``metrics``         the metrics of a set of escalations, and grouping by dimension and period
``source``          reading escalations out of the store, a chunk at a time
``sla``             attainment of the routes' ``sla:`` targets
``containment``     1 − escalations ÷ conversations, over the days with a volume figure
``stakes``          the value at stake: a number fact the mappings name
``report``          the report as a document (terminal, ``--json``); ``page``, ``svg`` and
                    ``page_layout`` render it as one self-contained HTML page
``assemble``        the report out of the store and the mapping files
``feedback``        the feedback export (JSON lines, CSV; ``feedback_parquet`` for Parquet)
==================  =========================================================================

Metrics are computed from stored facts when asked, so a definition can change without
reprocessing history; every definition is written once, in :mod:`.metrics`.
"""

from baton.core.learning.episodes import Episode, episodes
from baton.core.learning.history import Escalation
from baton.core.learning.metrics import DIMENSIONS, Definitions, GroupMetrics, by_dimension, measure
from baton.core.learning.source import escalations

__all__ = [
    "DIMENSIONS",
    "Definitions",
    "Episode",
    "Escalation",
    "GroupMetrics",
    "by_dimension",
    "episodes",
    "escalations",
    "measure",
]
