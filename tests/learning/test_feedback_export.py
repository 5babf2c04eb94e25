"""``baton export feedback``: one record per handoff with the agent's features and the outcome,
matching its published schema, and no transcript, summary or other free text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from baton.core.learning.feedback import feedback_json_schema
from baton.core.store import Store
from baton.core.tables import TicketLinkRow
from baton.webhooks.cli import app
from tests.learning.test_metrics import deliver, observed, record
from tests.support.paths import MAPPINGS

SECRET_WORDS = ("PLANTEDTRANSCRIPTWORD", "PLANTEDSUMMARYWORD", "PLANTEDDETAIL", "PLANTEDLABEL")


@pytest.fixture
def filled(cli_store: Store) -> Store:
    store = cli_store
    deliver(
        store,
        "1",
        summary="Customer PLANTEDSUMMARYWORD wants a refund",
        transcript=[{"role": "customer", "text": "I said PLANTEDTRANSCRIPTWORD twice"}],
        triggers=[{"kind": "sentiment", "score": 0.9, "detail": "PLANTEDDETAIL"}],
        sentiment={"score": -0.6, "label": "PLANTEDLABEL"},
        customer={"tier": "vip", "authenticated": True},
    )
    record(
        store,
        observed("1", "transferred", 10, transfer_count=1),
        observed("1", "resolved", 50, resolution_seconds=3000, transfer_count=1, csat=1.0),
    )
    with store.session() as session:
        session.get(TicketLinkRow, "h-1").route = "VIP billing"  # type: ignore[union-attr]
    deliver(store, "2")
    return store


def _export(*options: str) -> str:
    result = CliRunner().invoke(app, ["export", "feedback", "--mappings", str(MAPPINGS), *options])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_jsonl_records_carry_the_features_and_the_outcome_and_match_the_schema(
    filled: Store,
) -> None:
    lines = _export().splitlines()
    records = {r["handoff_id"]: r for r in map(json.loads, lines)}
    for item in records.values():
        jsonschema.validate(item, feedback_json_schema())
    first = records["h-1"]
    assert first["triggers"] == [{"kind": "sentiment", "score": 0.9}]
    assert (first["sentiment"], first["tier"], first["authenticated"]) == (-0.6, "vip", True)
    assert (first["outcome"], first["transferred"], first["reopened"]) == ("resolved", True, False)
    assert (first["resolution_seconds"], first["csat"]) == (3000, 1.0)
    assert (first["route"], first["sla_resolution"]) == ("VIP billing", "attained")
    assert records["h-2"]["outcome"] == "unobserved"


def test_no_free_text_leaves_in_any_format(filled: Store) -> None:
    for file_format in ("jsonl", "csv"):
        text = _export("--format", file_format)
        assert text.strip()
        for word in SECRET_WORDS:
            assert word not in text, (file_format, word)


def test_csv_has_a_header_and_a_row_per_handoff(filled: Store, tmp_path: Path) -> None:
    target = tmp_path / "feedback.csv"
    _export("--format", "csv", "--output", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [row["handoff_id"] for row in rows] == ["h-1", "h-2"]
    assert (rows[0]["trigger_kinds"], rows[0]["trigger_scores"]) == ("sentiment", "0.9")


def test_an_unknown_format_exits_2_naming_the_option(filled: Store) -> None:
    result = CliRunner().invoke(app, ["export", "feedback", "--format", "xlsx"])
    assert result.exit_code == 2
    assert "--format: 'xlsx' is not one of jsonl, csv, parquet" in " ".join(result.output.split())


def test_parquet_holds_the_same_records_as_jsonl_and_no_free_text(
    filled: Store, tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra is not installed")
    target = tmp_path / "feedback.parquet"
    _export("--format", "parquet", "--output", str(target))
    rows = {row["handoff_id"]: row for row in pq.read_table(target).to_pylist()}
    from_jsonl = {r["handoff_id"]: r for r in map(json.loads, _export().splitlines())}
    assert rows.keys() == from_jsonl.keys()
    first = rows["h-1"]
    assert first["triggers"] == [{"kind": "sentiment", "score": 0.9}]
    assert (first["outcome"], first["transferred"], first["csat"]) == ("resolved", True, 1.0)
    assert first["created_at"].isoformat() == from_jsonl["h-1"]["created_at"].replace("Z", "+00:00")
    dumped = json.dumps(list(rows.values()), default=str)
    for word in SECRET_WORDS:
        assert word not in dumped


def test_parquet_needs_a_file_to_write(filled: Store) -> None:
    result = CliRunner().invoke(app, ["export", "feedback", "--format", "parquet"])
    assert result.exit_code == 2
    assert "--format parquet needs --output FILE" in " ".join(result.output.split())


def test_parquet_without_pyarrow_names_the_extra(
    filled: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of it now fails
    target = tmp_path / "feedback.parquet"
    result = CliRunner().invoke(
        app, ["export", "feedback", "--format", "parquet", "--output", str(target)]
    )
    assert result.exit_code == 2
    assert "pip install 'baton-handoff[parquet]'" in " ".join(result.output.split())
    assert not target.exists()
