"""The report out of the store and the mappings, as the CLI, the service and the demo ask for
it: one place that knows which stored facts a report reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from baton.core.learning.metrics import Period
from baton.core.learning.report import DEFAULT_DIMENSIONS, Report, build_report
from baton.core.learning.sla import Slas, slas_in
from baton.core.learning.source import escalations
from baton.core.learning.stakes import Stakes, stakes_in, unit_of
from baton.core.store import Store
from baton.core.volume import days_of, volume_between


@dataclass(frozen=True)
class MappingFacts:
    """What the report takes from the mapping files: SLA targets and the value fact."""

    slas: Slas
    stakes: Stakes

    @classmethod
    def load(cls, folder: Path) -> MappingFacts:
        """Read them from the mapping files in ``folder`` (ConfigError when one does not load)."""
        return cls(slas_in(folder), stakes_in(folder))


def stored_report(
    store: Store,
    facts: MappingFacts,
    *,
    now: datetime,
    dimensions: Sequence[str] = DEFAULT_DIMENSIONS,
    period: Period | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    platform: str | None = None,
) -> Report:
    """The learning report over the handoffs created in ``[since, until)`` (ValueError for an
    unknown dimension)."""
    first, last = days_of(since, until)
    return build_report(
        escalations(store, since=since, until=until, platform=platform, stakes=facts.stakes),
        now=now,
        dimensions=dimensions,
        period=period,
        since=since,
        until=until,
        platform=platform,
        slas=facts.slas,
        volume=volume_between(store, first, last),
        value_unit=unit_of(facts.stakes),
    )
