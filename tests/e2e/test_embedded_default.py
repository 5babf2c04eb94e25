"""The embedded default end to end: `baton demo` and `baton serve --sandbox`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from rich.console import Console

from baton.core.plugin import registry
from baton.webhooks.demo import run_demo
from baton.webhooks.embedded import free_port
from tests.support.paths import EXAMPLES, MAPPINGS, ROOT
from tests.support.paths import VIP_REFUND as EXAMPLE
from tests.support.waiting import wait_for_disposition, wait_until_healthy


def test_demo_runs_the_whole_loop_and_leaves_nothing_running() -> None:
    threads_before = {t.ident for t in threading.enumerate()}
    console = Console(record=True, width=120)
    run_demo(EXAMPLES, MAPPINGS, console, quick=True)
    text = console.export_text()
    desks = [plugin for plugin in registry() if plugin.has_sandbox]
    assert f"Posted {8 * len(desks)} handoffs to POST /v1/handoffs → [202]" in text
    first = text.split("Outcomes in ")[1]  # the first platform's outcome table
    rows = {line.split()[0]: line.split() for line in first.splitlines() if line[:2].isdigit()}
    outcomes = {k: v for k, v in rows.items() if len(v) >= 7}
    assert outcomes["01"][2:4] == ["resolved", "webhook"]
    assert outcomes["01"][-1] == "good"
    assert outcomes["02"][2] == "reopened"
    assert outcomes["05"][2] == "transferred"
    assert outcomes["06"][-1] == "bad"
    assert outcomes["08"][2:4] == ["resolved", "sync"]  # its webhook was lost: sync healed it
    time.sleep(0.2)
    leftover = [
        t.name for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()
    ]
    assert leftover == []


def test_serve_sandbox_takes_a_handoff_to_a_ticket_and_back(tmp_path: Path) -> None:
    port, sandbox_port = free_port(), free_port()
    env = {
        **os.environ,
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path}/baton.db",
        "BATON_API_KEYS": "embedded-default-test-key",
        "BATON_MAPPINGS_DIR": str(MAPPINGS),
    }
    command = [
        sys.executable,
        "-c",
        "from baton.webhooks.cli import app; app()",
        "serve",
        "--sandbox",
        "--port",
        str(port),
        "--sandbox-ports",
        f"zendesk={sandbox_port}",
    ]
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": "Bearer embedded-default-test-key"}
    try:
        wait_until_healthy(base)
        with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
            posted = client.post(
                "/v1/handoffs",
                content=EXAMPLE.read_bytes(),
                headers={"Content-Type": "application/json"},
            )
            assert posted.status_code == 202
            status = wait_for_disposition(client, posted.json()["status_url"])
        assert status["ticket"]["platform"] == "zendesk"
        assert status["disposition"]["outcome"] == "open"  # the sandbox's webhook came back
        assert status["delivery"]["attempts"] == 1
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, output
    assert "embedded-default-test-key" not in output
