"""The agent's conversation volume: how many conversations it had per day (and channel), the
denominator of containment in the learning report.

A figure is ``{date, channel?, conversations}``; ``channel`` left out means all channels. One
figure per date and channel: sending it again with the same number changes nothing, with
another number replaces it (idempotent, so an agent can re-send a day it is unsure of). Figures
arrive by ``POST /v1/volume`` or ``baton volume import FILE.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from baton.core.errors import BatonError, Problem
from baton.core.errors import ValidationError as InvalidInput
from baton.core.handoff import Channel
from baton.core.store import Store
from baton.core.tables import VolumeRow
from baton.core.times import utcnow

MAX_CONVERSATIONS = 1_000_000_000
ALL_CHANNELS = ""
CSV_COLUMNS = ("date", "channel", "conversations")

Written = Literal["created", "replaced", "unchanged"]


class VolumeFigure(BaseModel):
    """How many conversations the agent had on ``date`` (UTC), on ``channel`` or on all."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    date: Annotated[date, Field(strict=False, description="The day, YYYY-MM-DD, in UTC.")]
    channel: Channel | None = Field(
        default=None, description="The channel counted; left out for all channels together."
    )
    conversations: Annotated[int, Field(ge=0, le=MAX_CONVERSATIONS)] = Field(
        description="Conversations the agent handled that day, escalated or not."
    )


@dataclass(frozen=True)
class VolumeWrite:
    """What recording a figure did."""

    figure: VolumeFigure
    written: Written


def record_volume(store: Store, figures: Iterable[VolumeFigure]) -> list[VolumeWrite]:
    """Store ``figures`` in one transaction, each replacing the figure of its date and channel."""
    batch = list(figures)
    try:
        return _write(store, batch)
    except IntegrityError:  # another writer added one of these rows after we looked: once more
        return _write(store, batch)


def _write(store: Store, batch: list[VolumeFigure]) -> list[VolumeWrite]:
    results: list[VolumeWrite] = []
    with store.session() as session:
        for figure in batch:
            key = (figure.date.isoformat(), figure.channel or ALL_CHANNELS)
            row = session.get(VolumeRow, key)
            if row is None:
                session.add(
                    VolumeRow(
                        day=key[0],
                        channel=key[1],
                        conversations=figure.conversations,
                        updated_at=utcnow(),
                    )
                )
                session.flush()
                results.append(VolumeWrite(figure, "created"))
            elif row.conversations == figure.conversations:
                results.append(VolumeWrite(figure, "unchanged"))
            else:
                row.conversations = figure.conversations
                row.updated_at = utcnow()
                results.append(VolumeWrite(figure, "replaced"))
    return results


def volume_between(store: Store, first: date | None, last: date | None) -> list[VolumeFigure]:
    """The figures for days in ``[first, last]`` (either end open when None), by day."""
    stmt = select(VolumeRow).order_by(VolumeRow.day, VolumeRow.channel)
    if first is not None:
        stmt = stmt.where(VolumeRow.day >= first.isoformat())
    if last is not None:
        stmt = stmt.where(VolumeRow.day <= last.isoformat())
    with store.reading() as session:
        return [
            VolumeFigure(
                date=date.fromisoformat(row.day),
                channel=row.channel or None,  # type: ignore[arg-type]  # stored from a Channel
                conversations=row.conversations,
            )
            for row in session.scalars(stmt)
        ]


def days_of(since: datetime | None, until: datetime | None) -> tuple[date | None, date | None]:
    """The days a ``[since, until)`` range of handoffs touches (UTC)."""
    from datetime import UTC, timedelta

    first = since.astimezone(UTC).date() if since is not None else None
    last = (until.astimezone(UTC) - timedelta(microseconds=1)).date() if until else None
    return first, last


def read_volume_csv(path: Path) -> list[VolumeFigure]:
    """The figures in a CSV file with a header ``date,channel,conversations`` (``channel`` may
    be empty or left out). Every bad cell is reported, by line and column, before anything is
    stored (ValidationFailed); a file with none is refused too."""
    problems: list[Problem] = []
    figures: list[VolumeFigure] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [c for c in ("date", "conversations") if c not in header]
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if missing or unknown:
            raise BatonError(
                f"{path.name}: the header must be {','.join(CSV_COLUMNS)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            )
        seen: dict[tuple[date, str | None], int] = {}
        for line, raw in _rows(reader):
            figure = _figure(raw, Problem("", "", path.name, line), problems)
            if figure is None:
                continue
            key = (figure.date, figure.channel)
            if key in seen:
                problems.append(
                    Problem(
                        "row", f"the same date and channel as line {seen[key]}", path.name, line
                    )
                )
                continue
            seen[key] = line
            figures.append(figure)
    if problems:
        raise InvalidInput(problems, f"volume file {path.name} (nothing stored)")
    if not figures:
        raise BatonError(f"{path.name}: no figures after the header")
    return figures


def _rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str]]]:
    for raw in reader:
        cleaned = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if any(cleaned.values()):
            yield reader.line_num, cleaned


def _figure(raw: dict[str, str], at: Problem, problems: list[Problem]) -> VolumeFigure | None:
    conversations = raw.get("conversations", "")
    data: dict[str, object] = {
        "date": raw.get("date", ""),
        "conversations": int(conversations) if conversations.isdigit() else conversations,
    }
    if raw.get("channel"):
        data["channel"] = raw["channel"]
    try:
        return VolumeFigure.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            column = ".".join(str(part) for part in error["loc"]) or "row"
            problems.append(Problem(column, _message(error["type"], column), at.file, at.line))
        return None


def _message(kind: str, column: str) -> str:
    if column == "conversations":
        return f"a whole number from 0 to {MAX_CONVERSATIONS:,}"
    if column == "date":
        return "a date as YYYY-MM-DD"
    if column == "channel":
        return "one of chat, email, voice, sms, social, web, other (or empty for all)"
    return kind
