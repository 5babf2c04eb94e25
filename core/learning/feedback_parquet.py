"""The feedback export as Parquet, for data tools that read columns (pandas, DuckDB, Spark).

Needs the optional extra ``baton-handoff[parquet]`` (pyarrow), so the base install stays small.
Records are written a row group at a time, so memory stays flat however many there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from baton.core.errors import BatonError
from baton.core.learning.feedback import FeedbackRecord

ROW_GROUP = 2_000
EXTRA_HINT = "--format parquet needs pyarrow: pip install 'baton-handoff[parquet]'"


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise BatonError(EXTRA_HINT) from None
    return pa, pq


def _schema(pa: Any) -> Any:
    trigger = pa.struct([("kind", pa.string()), ("score", pa.float64())])
    timestamp = pa.timestamp("us", tz="UTC")
    types = {
        "created_at": timestamp,
        "triggers": pa.list_(trigger),
        "sentiment": pa.float64(),
        "authenticated": pa.bool_(),
        "reopened": pa.bool_(),
        "transferred": pa.bool_(),
        "first_response_seconds": pa.int64(),
        "resolution_seconds": pa.int64(),
        "csat": pa.float64(),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in FeedbackRecord.model_fields])


def _batches(records: Iterable[FeedbackRecord], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(records)
    while batch := [record.model_dump() for record in islice(iterator, size)]:
        yield batch


def write_parquet(records: Iterable[FeedbackRecord], path: Path, row_group: int = ROW_GROUP) -> int:
    """Write ``records`` to ``path`` (replaced) a row group at a time; how many were written."""
    pa, pq = _pyarrow()
    schema = _schema(pa)
    written = 0
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        for batch in _batches(records, row_group):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            written += len(batch)
    return written
