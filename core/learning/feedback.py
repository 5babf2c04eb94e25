"""The feedback export: one record per handoff for the agent's own tuning — the features the
agent decided on and what became of the handoff — with no transcript, summary or other free
text (trigger details, sentiment labels and notes stay out). Its JSON Schema is published
(``baton schema feedback``); records are produced one at a time, so memory stays flat.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from baton.core.learning.episodes import episodes
from baton.core.learning.history import Escalation
from baton.core.learning.sla import Slas, judge, route_targets


class TriggerFeature(BaseModel):
    """One trigger kind and the agent's score for it."""

    model_config = ConfigDict(frozen=True)

    kind: str
    score: float | None


class FeedbackRecord(BaseModel):
    """One handoff: the agent's decision features, then the outcome."""

    model_config = ConfigDict(frozen=True)

    handoff_id: str
    created_at: datetime
    platform: str
    intent: str
    triggers: list[TriggerFeature]
    sentiment: float | None
    priority: str
    tier: str | None
    channel: str
    language: str | None
    authenticated: bool
    route: str | None
    outcome: str
    reopened: bool
    transferred: bool
    first_response_seconds: int | None
    resolution_seconds: int | None
    csat: float | None
    sla_first_response: str | None
    sla_resolution: str | None


def feedback_records(
    escalations: Iterable[Escalation], *, now: datetime, slas: Slas | None = None
) -> Iterator[FeedbackRecord]:
    """A record per escalation, as they come."""
    for escalation in escalations:
        cut = episodes(escalation.history)
        current = escalation.current
        resolved = next((e for e in cut if e.resolved_at is not None), None)
        found = route_targets(escalation, slas or {})
        verdicts = judge(escalation, found[1], now) if found is not None else {}
        rating = next((d.csat for d in reversed(escalation.history) if d.csat is not None), None)
        yield FeedbackRecord(
            handoff_id=escalation.handoff_id,
            created_at=escalation.created_at,
            platform=escalation.platform,
            intent=escalation.intent,
            triggers=[TriggerFeature(kind=k, score=s) for k, s in escalation.trigger_scores],
            sentiment=escalation.sentiment,
            priority=escalation.priority,
            tier=escalation.tier,
            channel=escalation.channel,
            language=escalation.language,
            authenticated=escalation.authenticated,
            route=escalation.route,
            outcome=current.outcome if current is not None else "unobserved",
            reopened=len(cut) > 1,
            transferred=any(e.transferred for e in cut),
            first_response_seconds=cut[0].first_response_seconds if cut else None,
            resolution_seconds=resolved.resolution_seconds if resolved is not None else None,
            csat=rating,
            sla_first_response=verdicts.get("first_response", (None, 0))[0],
            sla_resolution=verdicts.get("resolution", (None, 0))[0],
        )


CSV_COLUMNS = [name for name in FeedbackRecord.model_fields if name != "triggers"] + [
    "trigger_kinds",
    "trigger_scores",
]


def as_jsonl(records: Iterable[FeedbackRecord]) -> Iterator[str]:
    """Each record as one JSON line."""
    for record in records:
        yield record.model_dump_json() + "\n"


def as_csv(records: Iterable[FeedbackRecord]) -> Iterator[str]:
    """A header, then each record as one CSV row (trigger kinds and scores ``;``-joined)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    yield buffer.getvalue()
    for record in records:
        buffer.seek(0)
        buffer.truncate()
        row: dict[str, Any] = record.model_dump(mode="json", exclude={"triggers"})
        row["trigger_kinds"] = ";".join(t.kind for t in record.triggers)
        row["trigger_scores"] = ";".join(
            "" if t.score is None else str(t.score) for t in record.triggers
        )
        writer.writerow(row)
        yield buffer.getvalue()


def feedback_json_schema() -> dict[str, Any]:
    """The published JSON Schema of one feedback record (one JSON line of the export)."""
    schema = FeedbackRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://baton.dev/schemas/feedback.json"
    return schema
