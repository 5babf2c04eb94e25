"""The agent recipes (``examples/agents/``) run as a developer runs them: each a subprocess of
the recipes' own virtualenv (``.venv-agents``: the frameworks are installed there, never in
Baton's) from an empty folder, against a running embedded Baton whose tickets land in the
sandbox Zendesk. The models are scripted: no LLM, no key, and a request leaving this machine
would go to a proxy that is not there.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from baton.client import BatonClient
from baton.core.callbacks import CallbackEvent, CallbackSigner
from baton.webhooks.embedded import free_port
from tests.support.embedded import RunningBaton, running_embedded
from tests.support.paths import EXPLICIT_HUMAN, ROOT
from tests.support.skipping import skip_or_fail

RECIPES = ROOT / "examples" / "agents"
AGENTS_VENV = ROOT / ".venv-agents"
INSTALLED = AGENTS_VENV / ".installed"  # the Makefile target that builds the virtualenv
API_KEY = "recipes-test-key-0123456789"
SECRET = "whsec_" + base64.b64encode(b"recipes-callback-secret-0123").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"someone-elses-secret-456789").decode()
TIMEOUT = 60  # seconds at most for one recipe; each takes a few
# What every recipe prints once its ticket exists.
TICKET_LINE = re.compile(r"handoff (?P<id>\S+): .*ticket (?P<link>http\S+)")


@dataclass(frozen=True)
class Recipes:
    """Runs the recipes against ``baton``; ``callback_url`` is where Baton sends callbacks,
    which the recipe's receiver listens on while it runs."""

    python: Path
    baton: RunningBaton
    callback_url: str
    folder: Path

    def env(self) -> dict[str, str]:
        """The recipes' environment: Baton's URL, key and callback settings, no way out."""
        dead_proxy = "http://127.0.0.1:9"
        return {
            **os.environ,
            "BATON_URL": self.baton.url,
            "BATON_API_KEY": API_KEY,
            "BATON_CALLBACK_URL": self.callback_url,
            "BATON_CALLBACK_SECRETS": SECRET,
            "HTTP_PROXY": dead_proxy,
            "HTTPS_PROXY": dead_proxy,
            "ALL_PROXY": dead_proxy,
            "NO_PROXY": "127.0.0.1,localhost",
            "OPENAI_API_KEY": "",
        }

    def run(self, recipe: str) -> subprocess.CompletedProcess[str]:
        """Run ``recipe`` to its end."""
        return subprocess.run(
            [str(self.python), str(RECIPES / recipe)],
            env=self.env(),
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def start(self, recipe: str) -> Running:
        """Start ``recipe``; read its output with :meth:`Running.wait_for`."""
        process = subprocess.Popen(
            [str(self.python), str(RECIPES / recipe)],
            env=self.env(),
            cwd=self.folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return Running(process)


class Running:
    """A recipe still running, its output lines read as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first new output line matching ``pattern``; AssertionError (with the output so
        far) when none comes within ``TIMEOUT``."""
        while True:
            try:
                line = self._queue.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError("".join(self.lines)) from None
            self.lines.append(line)
            if found := pattern.search(line):
                return found

    def finish(self) -> int:
        """Wait for the end (killed after ``TIMEOUT``) and read the rest; the exit code."""
        try:
            code = self.process.wait(timeout=TIMEOUT)
        finally:
            self.process.kill()
        self._reader.join(timeout=5)
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return code


@pytest.fixture(scope="module")
def recipes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recipes]:
    """The virtualenv's Python and an embedded Baton with callbacks on; skips (fails in CI)
    naming the make target when the virtualenv is missing."""
    if not INSTALLED.exists():
        skip_or_fail(
            "the agent recipes run in their own virtualenv: "
            f"make {INSTALLED.relative_to(ROOT)} (needs PyPI)"
        )
    callback_url = f"http://127.0.0.1:{free_port()}/baton"
    env = {"BATON_CALLBACK_URL": callback_url, "BATON_CALLBACK_SECRETS": SECRET}
    folder = tmp_path_factory.mktemp("recipes")
    with running_embedded(folder, API_KEY, env) as baton:
        yield Recipes(AGENTS_VENV / "bin" / "python", baton, callback_url, folder)


def _one_ticket(baton: RunningBaton, handoff_id: str, link: str) -> str:
    """The id of the one sandbox ticket made for ``handoff_id``, whose link is ``link``."""
    tickets = baton.zendesk_tickets(handoff_id)
    assert len(tickets) == 1
    assert tickets[0]["url"] == link
    return str(tickets[0]["id"])


def test_openai_agents_function_tool(recipes: Recipes) -> None:
    finished = recipes.run("openai_agents_tool.py")
    assert finished.returncode == 0, finished.stderr
    found = TICKET_LINE.search(finished.stdout)
    assert found, finished.stdout
    _one_ticket(recipes.baton, found["id"], found["link"])
    # The scripted model read the tool's answer and told the customer the link.
    assert finished.stdout.rstrip().endswith(f"your ticket is {found['link']}")


def test_mcp_client(recipes: Recipes) -> None:
    finished = recipes.run("mcp_client.py")
    assert finished.returncode == 0, finished.stderr
    assert "tools: escalate_to_human, handoff_status" in finished.stdout
    found = TICKET_LINE.search(finished.stdout)
    assert found, finished.stdout
    assert found["id"].startswith("mcp-")  # the tool derived it from the conversation
    assert ": delivered, ticket" in found[0]
    _one_ticket(recipes.baton, found["id"], found["link"])


def test_langgraph_pauses_until_the_human_stretch_is_over(recipes: Recipes) -> None:
    running = recipes.start("langgraph_handoff.py")
    found = running.wait_for(TICKET_LINE)
    ticket_id = _one_ticket(recipes.baton, found["id"], found["link"])
    # A person at the help desk solves the ticket: the sandbox tells Baton, Baton's callback
    # conversation.returned reaches the recipe's receiver, and the graph resumes.
    solved = httpx.post(f"{recipes.baton.zendesk_url}/_sandbox/tickets/{ticket_id}/solve")
    assert solved.status_code == 200
    assert running.finish() == 0, "".join(running.lines)
    tail = "".join(running.lines).split(found[0])[1].splitlines()[-4:]
    assert tail == [
        "customer: a human please",
        "agent: I'm passing you to a colleague now.",
        "(a person finished: resolved)",
        "agent: Welcome back! Is there anything else I can do?",
    ]


def test_callback_receiver_verifies_dedupes_and_prints_the_ticket_link(
    recipes: Recipes,
) -> None:
    running = recipes.start("callback_receiver.py")
    _wait_until_listening(recipes.callback_url)
    handoff = json.loads(EXPLICIT_HUMAN.read_text())
    del handoff["id"], handoff["created_at"]  # the client makes a fresh id
    with BatonClient(recipes.baton.url, API_KEY) as client:
        accepted = client.handoff(handoff)
        ticket = client.wait(accepted.id, until="ticket", timeout=TIMEOUT).ticket
    assert ticket is not None
    assert ticket.url
    created = re.compile(rf"^ticket\.created {re.escape(accepted.id)} (\S+)$")
    assert running.wait_for(created)[1] == ticket.url
    # The same event twice (one webhook-id), then another: told twice, not three times.
    signer = CallbackSigner([SECRET])
    event = CallbackEvent("ticket.reopened", "h-repeat", datetime.now(UTC), {})
    for webhook_id in ("msg_repeat", "msg_repeat", "msg_other"):
        headers = signer.headers(webhook_id, event.payload(), datetime.now(UTC))
        sent = httpx.post(recipes.callback_url, content=event.payload(), headers=headers)
        assert sent.status_code == 204
    # Unsigned, or signed with another secret: refused.
    assert httpx.post(recipes.callback_url, content=event.payload()).status_code == 401
    forged = CallbackSigner([OTHER_SECRET]).headers("msg_forged", event.payload(), event.at)
    refused = httpx.post(recipes.callback_url, content=event.payload(), headers=forged)
    assert refused.status_code == 401
    running.process.send_signal(signal.SIGTERM)
    assert running.finish() == 0, "".join(running.lines)
    assert [line for line in running.lines if "h-repeat" in line] == [
        "ticket.reopened h-repeat\n"
    ] * 2


def _wait_until_listening(url: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)  # any answer will do (the receiver only takes POST)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {url}")
