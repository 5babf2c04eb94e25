"""A fourth platform that lives only in tests/support/ plugs in through ``BATON_PLUGINS`` and
nothing else: the CLI lists it, ``serve --sandbox`` serves its sandbox and delivers to it, and
``baton demo`` runs its whole loop next to Zendesk's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from baton.core.learning import escalations
from baton.core.plugin import PLUGINS_ENV, registry
from baton.core.store import Store
from baton.webhooks.demo import run_demo
from baton.webhooks.embedded import free_port
from tests.support.paths import EXAMPLES, ROOT
from tests.support.toydesk import mappings_with_toydesk
from tests.support.waiting import wait_for_disposition, wait_until_healthy

TOYDESK = "tests.support.toydesk:plugin"
EXAMPLE = EXAMPLES / "03-regulated-complaint.json"


def _baton(*args: str) -> list[str]:
    # `python -c` puts the working directory (the repository) first on sys.path, as a
    # deployment would put its plugin's package: tests.support is importable from there.
    return [sys.executable, "-c", "from baton.webhooks.cli import app; app()", *args]


def test_the_cli_lists_the_plugin_after_the_built_in_platforms() -> None:
    env = {**os.environ, PLUGINS_ENV: TOYDESK, "COLUMNS": "200"}
    shown = subprocess.run(
        _baton("platforms"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()[1:] if line.strip()]
    assert [row[0] for row in rows] == ["zendesk", "salesforce", "hubspot", "toydesk"]
    toydesk = rows[-1]
    assert toydesk[1:4] == ["plugin", "yes", "yes"]
    assert [row[1] for row in rows[:3]] == ["built-in"] * 3


def test_an_unknown_platform_is_refused_with_the_registered_names() -> None:
    env = {**os.environ, PLUGINS_ENV: TOYDESK, "COLUMNS": "300"}
    refused = subprocess.run(
        _baton("mappings", "preview", str(EXAMPLE), "--platform", "freshdesk"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "zendesk, salesforce, hubspot, toydesk" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_serve_sandbox_serves_the_plugin_and_delivers_to_it(tmp_path: Path) -> None:
    mappings = mappings_with_toydesk(tmp_path / "mappings")
    port = free_port()
    env = {
        **os.environ,
        PLUGINS_ENV: TOYDESK,
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path}/baton.db",
        "BATON_API_KEYS": "toydesk-plugin-test-key",
        "BATON_MAPPINGS_DIR": str(mappings),
    }
    command = _baton("serve", "--sandbox", "--port", str(port), "--sandbox-ports", "0")
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    handoff = {**json.loads(EXAMPLE.read_text(encoding="utf-8")), "destination": "toydesk"}
    try:
        wait_until_healthy(base)
        headers = {"Authorization": "Bearer toydesk-plugin-test-key"}
        with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
            posted = client.post("/v1/handoffs", json=handoff)
            assert posted.status_code == 202, posted.text
            status = wait_for_disposition(client, posted.json()["status_url"])
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, output
    assert "toydesk sandbox" in output  # started next to Zendesk's, and said so
    assert status["ticket"]["platform"] == "toydesk"
    assert status["disposition"]["outcome"] == "open"  # its signed webhook came back


def test_the_demo_runs_the_whole_loop_on_the_plugin_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PLUGINS_ENV, TOYDESK)
    mappings = mappings_with_toydesk(tmp_path / "mappings")
    console = Console(record=True, width=140)
    run_demo(EXAMPLES, mappings, console, quick=True)
    text = console.export_text()
    desks = [plugin for plugin in registry() if plugin.has_sandbox]
    assert "toydesk" in [plugin.name for plugin in desks]
    assert f"Posted {8 * len(desks)} handoffs to POST /v1/handoffs → [202]" in text
    assert "Tickets created in the ToyDesk sandbox" in text
    sections = text.split("Outcomes in ")
    toydesk = next(part for part in sections if part.startswith("ToyDesk"))
    rows = {line.split()[0]: line.split() for line in toydesk.splitlines() if line[:2].isdigit()}
    assert len(rows) == 8
    assert rows["01"][2:4] == ["resolved", "webhook"]
    assert rows["05"][2] == "transferred"
    assert rows["08"][2:4] == ["resolved", "sync"]  # its webhook was lost; sync healed it


def test_the_demo_month_plays_on_the_plugin_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PLUGINS_ENV, TOYDESK)
    mappings = mappings_with_toydesk(tmp_path / "mappings")
    console = Console(record=True, width=140)
    month = run_demo(
        EXAMPLES,
        mappings,
        console,
        count=40,
        database=tmp_path / "demo.db",
        page=tmp_path / "baton-report.html",
    )
    assert month is not None
    assert month.handoffs == 40
    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        found = list(escalations(store, platform="toydesk"))
    finally:
        store.close()
    sandboxes = sum(1 for plugin in registry() if plugin.has_sandbox)
    assert len(found) in (40 // sandboxes, -(-40 // sandboxes))  # they take turns
    synced = [d for e in found for d in e.history if d.source == "sync"]
    assert len({d.resolution_seconds for d in synced if d.resolution_seconds}) > 5
    assert min(d.occurred_at for d in synced) < datetime.now(UTC) - timedelta(days=7)
