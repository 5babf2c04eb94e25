"""The feedback export over many handoffs: peak memory of ``baton export feedback`` and that no
transcript text reaches the output.

Seeds a fresh SQLite store with N synthetic handoffs (default 100,000; each with a transcript
holding a marker word, a delivered ticket and two dispositions) by bulk insert, then runs the
real command in a child process and prints its wall time, peak RSS (goal: under 150 MB) and how
many output lines carry the marker word (must be 0).

    python benchmarks/export_feedback.py [--handoffs 100000] [--format jsonl|csv|parquet]

Parquet needs the optional extra (``pip install 'baton-handoff[parquet]'``); its records are
read back with pyarrow to look for the marker word, since the file is compressed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from baton.core.store import Store
from baton.core.tables import DeliveryRow, DispositionRow, HandoffRow, TicketLinkRow

MARKER = "TRANSCRIPTMARKERWORD"
CHUNK = 5_000
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _rows(index: int) -> tuple[dict[str, object], ...]:
    handoff_id = f"bench-{index:07d}"
    created = T0 + timedelta(minutes=index)
    body = {
        "id": handoff_id,
        "created_at": created.isoformat(),
        "conversation_id": f"conv-{index}",
        "channel": "chat",
        "intent": ("billing.refund", "account.access", "product.bug")[index % 3],
        "triggers": [{"kind": "sentiment", "score": 0.7}],
        "priority": "normal",
        "summary": "A customer needs a person.",
        "transcript": [{"role": "customer", "text": f"Please help {MARKER} now"}],
    }
    now = datetime.now(UTC)
    resolved = {
        "handoff_id": handoff_id,
        "platform": "zendesk",
        "ticket_id": str(index),
        "outcome": "resolved",
        "occurred_at": (created + timedelta(hours=2)).isoformat(),
        "resolution_seconds": 7200,
        "source": "sync",
    }
    opened = {**resolved, "outcome": "open", "occurred_at": created.isoformat()}
    return (
        {"id": handoff_id, "platform": "zendesk", "body": json.dumps(body),
         "body_sha256": "0" * 64, "status": "delivered", "received_at": now, "updated_at": now},
        {"handoff_id": handoff_id, "platform": "zendesk", "state": "delivered", "attempts": 1,
         "next_attempt_at": now, "created_at": now, "updated_at": now},
        {"handoff_id": handoff_id, "platform": "zendesk", "ticket_id": str(index),
         "ticket_url": None, "created_at": now, "route": "Billing", "target": "group Billing"},
        {"handoff_id": handoff_id, "platform": "zendesk", "ticket_id": str(index),
         "outcome": "open", "occurred_at": created, "source": "sync", "event_id": None,
         "data": json.dumps(opened), "recorded_at": now},
        {"handoff_id": handoff_id, "platform": "zendesk", "ticket_id": str(index),
         "outcome": "resolved", "occurred_at": created + timedelta(hours=2), "source": "sync",
         "event_id": None, "data": json.dumps(resolved), "recorded_at": now},
    )  # fmt: skip


def seed(url: str, count: int) -> None:
    """``count`` handoffs, links and dispositions, in bulk."""
    store = Store(url)
    store.migrate()
    tables = (HandoffRow, DeliveryRow, TicketLinkRow, DispositionRow, DispositionRow)
    try:
        for start in range(0, count, CHUNK):
            batches: list[list[dict[str, object]]] = [[] for _ in tables]
            for index in range(start, min(start + CHUNK, count)):
                for batch, row in zip(batches, _rows(index), strict=True):
                    batch.append(row)
            with store.session() as session:
                for table, batch in zip(tables, batches, strict=True):
                    session.execute(insert(table), batch)
    finally:
        store.close()


def _read_back(output: Path, file_format: str) -> tuple[int, int]:
    """How many records the file holds and how many carry the marker word."""
    if file_format == "parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(output).to_pylist()
        return len(rows), sum(MARKER in json.dumps(row, default=str) for row in rows)
    lines = marked = 0
    with output.open(encoding="utf-8") as exported:
        for line in exported:
            lines += 1
            marked += MARKER in line
    return (lines - 1 if file_format == "csv" else lines), marked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=100_000)
    parser.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        seed(url, options.handoffs)
        print(f"seeded {options.handoffs} handoffs in {time.perf_counter() - started:.1f} s")
        output = Path(folder) / f"feedback.{options.format}"
        env = {**os.environ, "BATON_DATABASE_URL": url}
        baton = [sys.executable, "-c", "from baton.webhooks.cli import app; app()"]
        started = time.perf_counter()
        subprocess.run(
            [*baton, "export", "feedback", "--format", options.format, "--output", str(output)],
            env=env, cwd=folder, check=True, capture_output=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mb = output.stat().st_size / 1e6
        lines, marked = _read_back(output, options.format)
    print(f"exported {lines} records in {elapsed:.1f} s ({lines / elapsed:.0f} records/s)")
    print(f"output file: {size_mb:.1f} MB of {options.format}")
    print(f"peak RSS of the export: {peak_mb:.1f} MB (goal: under 150 MB)")
    print(f"records carrying transcript text: {marked} (must be 0)")


if __name__ == "__main__":
    main()
