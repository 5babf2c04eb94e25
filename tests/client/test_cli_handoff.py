"""``baton handoff FILE.json`` against the embedded default served over HTTP."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from typer.testing import CliRunner, Result

from baton.webhooks.cli import app
from baton.webhooks.embedded import free_port
from tests.support.builders import handoff_doc
from tests.support.paths import VIP_REFUND

if TYPE_CHECKING:
    from .conftest import Served


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, ["handoff", *args], env=env)


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "handoff.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_posts_the_file_and_prints_the_ticket_link(embedded: Served, tmp_path: Path) -> None:
    handoff_id = f"cli-{uuid.uuid4().hex[:12]}"
    path = write(tmp_path, {**json.loads(VIP_REFUND.read_bytes()), "id": handoff_id})
    env = {"BATON_URL": embedded.url, "BATON_API_KEY": embedded.api_key}
    result = run(str(path), "--timeout", "20", env=env)
    assert result.exit_code == 0, result.output
    [ticket] = embedded.tickets_for(handoff_id)
    lines = result.stdout.splitlines()
    assert lines[0] == f"accepted {handoff_id} for zendesk"
    assert lines[1] == f"status: {embedded.url}/v1/handoffs/{handoff_id}"
    assert lines[2].startswith("ticket: http")
    assert f"tickets/{ticket.id}" in lines[2]
    again = run(str(path), "--no-wait", env=env)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == f"already received {handoff_id} for zendesk"
    assert len(embedded.tickets_for(handoff_id)) == 1


def test_the_key_from_a_file_and_no_wait(embedded: Served, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(embedded.api_key + "\n", encoding="utf-8")
    path = write(tmp_path, handoff_doc(f"cli-{uuid.uuid4().hex[:12]}"))
    result = run(str(path), "--url", embedded.url, "--api-key-file", str(key_file), "--no-wait")
    assert result.exit_code == 0, result.output
    assert "ticket:" not in result.stdout


def test_an_invalid_handoff_names_every_field_and_exits_2(embedded: Served, tmp_path: Path) -> None:
    bad = handoff_doc("cli-bad", summary="", triggers=[], customer={"email": "nobody"})
    env = {"BATON_URL": embedded.url, "BATON_API_KEY": embedded.api_key}
    result = run(str(write(tmp_path, bad)), env=env)
    assert result.exit_code == 2
    for path in ("summary", "triggers", "customer.email"):
        assert path in result.stderr
    assert "nobody" not in result.stderr
    assert "Traceback" not in result.output


def test_an_unreachable_service_is_a_clear_message_and_exits_1(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {"BATON_API_KEY": "some-api-key-0123456789"}
    result = run(str(write(tmp_path, handoff_doc())), "--url", url, "--retries", "0", env=env)
    assert result.exit_code == 1
    assert f"cannot reach Baton at {url}" in result.stderr
    assert "some-api-key" not in result.output
    assert "Traceback" not in result.output


def test_a_refused_key_and_a_missing_key_exit_2(embedded: Served, tmp_path: Path) -> None:
    path = str(write(tmp_path, handoff_doc()))
    refused = run(path, "--url", embedded.url, env={"BATON_API_KEY": "wrong-key-0123456789"})
    assert refused.exit_code == 2
    assert "401" in refused.stderr
    assert "wrong-key" not in refused.output
    missing = run(path, "--url", embedded.url, env={"BATON_API_KEY": ""})
    assert missing.exit_code == 2
    assert "BATON_API_KEY" in missing.stderr


def test_a_file_that_is_not_a_handoff_object_exits_2(tmp_path: Path) -> None:
    env = {"BATON_API_KEY": "some-api-key-0123456789"}
    result = run(str(write(tmp_path, [1, 2])), env=env)
    assert result.exit_code == 2
    assert "one JSON object" in result.stderr
