"""SLA attainment: each escalation against the targets its route carried (``sla:`` on a
routing rule or the default route of the mapping).

The route is the one stored with the ticket link when the ticket was made — analytics never
re-run routing on old data; a backup route (``<rule> (backup)``) is held to its rule's targets.
For each target:

attained    the platform's time (first response, or the first resolution) is at most the target
breached    it is over the target — or there is none yet and the target has passed since the
            handoff was created (an open breach: listed by the report)
pending     none yet, and the target has not passed
unmeasured  the ticket ended (resolved, deleted, merged) without the platform reporting the time
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from baton.core.learning.episodes import episodes
from baton.core.learning.history import Escalation
from baton.core.mapping.spec import Sla, duration_seconds

BACKUP_SUFFIX = " (backup)"
KINDS = ("first_response", "resolution")
ENDED = frozenset({"resolved", "deleted", "merged"})

Slas = Mapping[str, Mapping[str, Sla]]
"""SLA targets by platform, then by route name (``default`` for the default route)."""


@dataclass(frozen=True)
class Breach:
    """An escalation still open past one of its targets."""

    handoff_id: str
    route: str
    kind: str
    overdue_seconds: int


@dataclass
class RuleSla:
    """What became of one route's targets: ``{kind: {attained|breached|pending|unmeasured: n}}``."""

    platform: str
    route: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def slas_in(folder: Path) -> dict[str, dict[str, Sla]]:
    """Each platform's SLA targets by route, from the mapping files in ``folder``
    (MappingError when one does not load)."""
    from baton.core.mapping import load_mapping
    from baton.core.plugin import registry

    return {
        name: load_mapping(folder, name).slas
        for name in registry().names
        if (folder / f"{name}.yaml").exists()
    }


def route_targets(escalation: Escalation, slas: Slas) -> tuple[str, Sla] | None:
    """The route an escalation was made on and its SLA, if that route carries one."""
    if escalation.route is None:
        return None
    route = escalation.route.removesuffix(BACKUP_SUFFIX)
    sla = slas.get(escalation.platform, {}).get(route)
    return None if sla is None else (route, sla)


def judge(escalation: Escalation, sla: Sla, now: datetime) -> dict[str, tuple[str, int]]:
    """Per target kind: the verdict, and by how many seconds an open breach is overdue (0)."""
    cut = episodes(escalation.history)
    current = escalation.current
    ended = current is not None and current.outcome in ENDED
    resolved = next((e for e in cut if e.resolved_at is not None), None)
    measured = {
        "first_response": cut[0].first_response_seconds if cut else None,
        "resolution": resolved.resolution_seconds if resolved is not None else None,
    }
    settled = {"first_response": ended or resolved is not None, "resolution": ended}
    verdicts: dict[str, tuple[str, int]] = {}
    for kind in KINDS:
        target_text = getattr(sla, kind)
        if target_text is None:
            continue
        target = duration_seconds(target_text)
        value = measured[kind]
        if value is not None:
            verdicts[kind] = ("attained" if value <= target else "breached", 0)
        elif settled[kind]:
            verdicts[kind] = ("unmeasured", 0)
        else:
            waited = int((now - escalation.created_at) / timedelta(seconds=1))
            overdue = waited - target
            verdicts[kind] = ("breached", overdue) if overdue > 0 else ("pending", 0)
    return verdicts


def attainment(
    escalations: Iterable[Escalation], slas: Slas, now: datetime
) -> tuple[list[RuleSla], list[Breach]]:
    """Per route with targets, the verdict counts; and the open breaches, most overdue first."""
    rules: dict[tuple[str, str], RuleSla] = {}
    breaches: list[Breach] = []
    for escalation in escalations:
        found = route_targets(escalation, slas)
        if found is None:
            continue
        route, sla = found
        rule = rules.setdefault((escalation.platform, route), RuleSla(escalation.platform, route))
        for kind, (verdict, overdue) in judge(escalation, sla, now).items():
            tally = rule.counts.setdefault(kind, {})
            tally[verdict] = tally.get(verdict, 0) + 1
            if overdue > 0:
                breaches.append(Breach(escalation.handoff_id, route, kind, overdue))
    breaches.sort(key=lambda b: -b.overdue_seconds)
    return [rules[key] for key in sorted(rules)], breaches
