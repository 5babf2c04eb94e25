"""The agent's volume in: ``POST /v1/volume`` (bearer key, idempotent per date and channel, bad
fields named, values never echoed) and ``baton volume import`` (all or nothing, every bad cell
by line and column), and the report's containment line from them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from baton.core.store import Store
from baton.core.volume import volume_between
from baton.webhooks.app import create_app
from baton.webhooks.cli import app
from baton.webhooks.settings import ServiceSettings
from tests.learning.test_metrics import deliver
from tests.support.paths import MAPPINGS

KEY = "volume-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    settings = ServiceSettings(api_keys=(SecretStr(KEY),), mappings_dir=MAPPINGS)
    with TestClient(create_app(store, {}, settings)) as running:
        yield running


def test_volume_needs_the_bearer_key(client: TestClient, store: Store) -> None:
    figure = {"date": "2026-03-02", "conversations": 10}
    assert client.post("/v1/volume", json=figure).status_code == 401
    assert volume_between(store, None, None) == []


def test_posting_a_figure_is_idempotent_per_date_and_channel(
    client: TestClient, store: Store
) -> None:
    figure = {"date": "2026-03-02", "channel": "chat", "conversations": 120}
    created = client.post("/v1/volume", json=figure, headers=AUTH)
    assert (created.status_code, created.json()["written"]) == (201, "created")
    same = client.post("/v1/volume", json=figure, headers=AUTH)
    assert (same.status_code, same.json()["written"]) == (200, "unchanged")
    changed = client.post("/v1/volume", json={**figure, "conversations": 130}, headers=AUTH)
    assert (changed.status_code, changed.json()["written"]) == (200, "replaced")
    whole_day = client.post("/v1/volume", json={"date": "2026-03-02", "conversations": 400})
    assert whole_day.status_code == 401
    assert client.post(
        "/v1/volume", json={"date": "2026-03-02", "conversations": 400}, headers=AUTH
    ).json() == {"date": "2026-03-02", "channel": None, "conversations": 400, "written": "created"}
    stored = {(f.channel, f.conversations) for f in volume_between(store, None, None)}
    assert stored == {("chat", 130), (None, 400)}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"date": "2026-02-30", "conversations": 5}, "date"),
        ({"date": "2026-03-02", "conversations": -1}, "conversations"),
        ({"date": "2026-03-02", "conversations": "12"}, "conversations"),  # strict: a number
        ({"date": "2026-03-02", "channel": "pigeon", "conversations": 5}, "channel"),
        ({"conversations": 5}, "date"),
        ({"date": "2026-03-02", "conversations": 5, "secret_word": "x"}, "secret_word"),
    ],
)
def test_a_bad_figure_is_422_naming_the_field_without_echoing_it(
    client: TestClient, store: Store, body: dict[str, object], path: str
) -> None:
    answer = client.post("/v1/volume", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert path in [problem["path"] for problem in answer.json()["problems"]]
    assert "pigeon" not in answer.text
    assert "2026-02-30" not in answer.text
    assert volume_between(store, None, None) == []


def test_an_oversized_body_is_refused_unread(client: TestClient) -> None:
    answer = client.post("/v1/volume", content=b"{" + b" " * 5000 + b"}", headers=AUTH)
    assert answer.status_code == 413


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "volume.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_stores_every_figure_and_the_report_shows_containment(
    cli_store: Store, tmp_path: Path
) -> None:
    deliver(cli_store, "1")  # created at T0, 2026-03-02
    path = _csv(tmp_path, "date,channel,conversations\n2026-03-02,,40\n2026-03-02,chat,25\n")
    runner = CliRunner()

    imported = runner.invoke(app, ["volume", "import", str(path)])
    again = runner.invoke(app, ["volume", "import", str(path)])

    assert imported.exit_code == 0, imported.output
    assert "2 new, 0 replaced, 0 unchanged" in imported.output
    assert "0 new, 0 replaced, 2 unchanged" in again.output
    listed = runner.invoke(app, ["volume", "list"])
    assert "2026-03-02  (all)" in listed.output
    assert "chat" in listed.output
    report = runner.invoke(app, ["report", "--mappings", str(MAPPINGS)])
    assert "Containment: 98% (1 escalation(s) of 40 conversations" in report.output


def test_import_of_a_file_with_bad_cells_names_each_and_stores_nothing(
    cli_store: Store, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        "date,channel,conversations\n"
        "2026-03-02,,40\n"
        "2026-03-0x,chat,25\n"
        "2026-03-03,telex,-4\n"
        "2026-03-02,,41\n",
    )
    result = CliRunner().invoke(app, ["volume", "import", str(path)])
    assert result.exit_code == 2
    for located in (
        "volume.csv:3: date",
        "volume.csv:4: channel",
        "volume.csv:4: conversations",
        "volume.csv:5: row: the same date and channel as line 2",
    ):
        assert located in result.output
    assert volume_between(cli_store, None, None) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,conversations\n2026-03-02,4\n", "missing date; unknown day"),
        ("date,channel,conversations\n", "no figures"),
    ],
)
def test_import_refuses_a_file_it_cannot_read(
    cli_store: Store, tmp_path: Path, text: str, message: str
) -> None:
    result = CliRunner().invoke(app, ["volume", "import", str(_csv(tmp_path, text))])
    assert result.exit_code == 2
    assert message in result.output


def test_the_report_says_containment_is_unknown_without_volume(cli_store: Store) -> None:
    deliver(cli_store, "1")
    result = CliRunner().invoke(app, ["report", "--mappings", str(MAPPINGS)])
    assert "Containment: unknown" in result.output
    assert "No escalations" not in result.output  # the handoff is in range
