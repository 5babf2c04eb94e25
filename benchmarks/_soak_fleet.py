"""The moving parts of ``benchmarks/soak.py``: the Baton processes it runs and kills, the two
round-robin front ends (the client's transport and the webhook proxy) and the client posting.

Every Baton process is the installed CLI (``baton serve --no-worker``, ``baton worker``,
``baton sync``) as a child process, its output appended to a log file of its own, so a killed
and restarted process keeps one log.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from baton.client import BatonClient, BatonError
from baton.core.handoff import Handoff

API_KEY = "soak-api-key-0123456789abcdef"  # the replicas' BATON_API_KEYS
SYNC_TIMEOUT = 120.0  # a sync run that takes longer is killed (and counted as failed)
FORWARDED = ("content-type", "user-agent")  # plus every x-zendesk-* header


def baton_command(*args: str) -> list[str]:
    """The installed ``baton`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("baton")
    if script.exists():
        return [str(script), *args]
    code = "from baton.webhooks.cli import app; app(prog_name='baton')"
    return [sys.executable, "-c", code, *args]


class Child:
    """One long-running Baton process, started again after each kill (same arguments)."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], logs: Path):
        self.name = name
        self.args = list(args)
        self.env = dict(env)
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (its output appended to its log)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                baton_command(*self.args), env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill_9(self) -> None:
        """SIGKILL and reap the process."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill_9()


class Fleet:
    """``baton serve --no-worker`` on each of ``ports``, ``workers`` ×
    ``baton worker``, a ``baton sync`` loop and a killer, all on ``env``."""

    def __init__(
        self, env: Mapping[str, str], logs: Path, ports: Sequence[int], workers: int, threads: int
    ) -> None:
        self.env, self.logs, self.ports = dict(env), logs, list(ports)
        self.replicas = [
            Child(f"serve-{i}", ["serve", "--no-worker", "--port", str(port)], env, logs)
            for i, port in enumerate(self.ports)
        ]
        worker_args = ["worker", "--concurrency", str(threads), "--lease-seconds", "30"]
        self.workers = [Child(f"worker-{i}", worker_args, env, logs) for i in range(workers)]
        self.kills: Counter[str] = Counter()
        self.syncs: Counter[int] = Counter()  # exit code → runs
        self._threads: list[tuple[threading.Event, threading.Thread]] = []

    @property
    def children(self) -> list[Child]:
        """Every long-running process."""
        return [*self.replicas, *self.workers]

    def exited(self) -> list[str]:
        """The processes that are not running (none should be: a kill restarts at once)."""
        return [c.name for c in self.children if c.proc is None or c.proc.poll() is not None]

    def start(self, timeout: float = 60.0) -> None:
        """Start every process; wait until each replica answers ``/healthz``."""
        for child in self.children:
            child.start()
        deadline = time.monotonic() + timeout
        for port in self.ports:
            while not _healthy(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"replica on port {port} not healthy; see {self.logs}")
                time.sleep(0.2)

    def run_sync(self) -> int:
        """One ``baton sync --platform zendesk`` to its end; its exit code (-9 if it hung)."""
        with (self.logs / "sync.log").open("ab") as out:
            try:
                done = subprocess.run(
                    baton_command("sync", "--platform", "zendesk"),
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=SYNC_TIMEOUT,
                    check=False,
                )
                code = done.returncode
            except subprocess.TimeoutExpired:
                code = -9
        self.syncs[code] += 1
        return code

    def loop(self, name: str, every: tuple[float, float], seed: int) -> None:
        """Start the background loop ``name`` (``sync`` or ``kill``), waiting a random
        ``every`` seconds between rounds; :meth:`stop_loops` ends it."""
        draws = random.Random(seed)
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(draws.uniform(*every)):
                if name == "sync":
                    self.run_sync()
                else:
                    victim = draws.choice(self.children)
                    victim.kill_9()
                    victim.start()
                    self.kills[victim.name.split("-")[0]] += 1

        thread = threading.Thread(target=run, name=f"soak-{name}", daemon=True)
        thread.start()
        self._threads.append((stop, thread))

    def stop_loops(self) -> None:
        """End the kill and sync loops (a sync run in progress finishes first)."""
        for stop, _ in self._threads:
            stop.set()
        for _, thread in self._threads:
            thread.join(timeout=SYNC_TIMEOUT + 10)
        self._threads.clear()

    def stop(self) -> None:
        """Stop the loops and every process."""
        self.stop_loops()
        for child in self.children:
            child.stop()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class RoundRobin(httpx.BaseTransport):
    """An httpx transport sending each request to the next of ``ports`` on 127.0.0.1: with
    ``BatonClient``'s retries (same id), an attempt that meets a dead replica is sent again to
    the next one."""

    def __init__(self, ports: Sequence[int]) -> None:
        self._ports = itertools.cycle(ports)
        self._lock = threading.Lock()
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the next replica."""
        with self._lock:
            port = next(self._ports)
        request.url = request.url.copy_with(port=port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the pooled connections."""
        self._inner.close()


class WebhookProxy:
    """A round-robin reverse proxy in front of the replicas for the sandbox's webhooks, as a
    load balancer would be: a request goes to the next replica, and to the one after it when
    that one cannot be reached (a killed replica); the replica's answer goes back unchanged,
    and 502 when none answered (the sandbox then retries)."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = itertools.cycle(ports)
        self.count = len(ports)
        self.lock = threading.Lock()
        self.http = httpx.Client(timeout=10)
        self.forwarded: Counter[int] = Counter()  # status → answers
        self.duplicates = 0  # events the replicas answered as already in the inbox
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in FORWARDED or k.lower().startswith("x-zendesk-")
                }
                status, answer = proxy.forward(self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """The first answer of a replica, trying each at most once."""
        for _ in range(self.count):
            with self.lock:
                port = next(self.ports)
            try:
                response = self.http.post(
                    f"http://127.0.0.1:{port}{path}", content=body, headers=headers
                )
            except httpx.TransportError:
                continue
            with self.lock:
                self.forwarded[response.status_code] += 1
                self.duplicates += _duplicates(response)
            return response.status_code, response.content
        with self.lock:
            self.forwarded[502] += 1
        return 502, b""

    def start(self) -> WebhookProxy:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.http.close()


def _duplicates(response: httpx.Response) -> int:
    """The ``duplicates`` count of a receiver's 200 answer (0 for any other answer)."""
    try:
        answer = response.json() if response.status_code == 200 else {}
    except ValueError:
        return 0
    return int(answer.get("duplicates", 0)) if isinstance(answer, dict) else 0


@dataclass
class Run:
    """What the client and the agent did."""

    posted: int = 0
    accepted: dict[str, bool] = field(default_factory=dict)  # id → existing
    failed: Counter[str] = field(default_factory=Counter)
    latency: list[float] = field(default_factory=list)
    solved: set[str] = field(default_factory=set)  # handoff ids whose ticket was solved
    solve_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def post_all(
    handoffs: list[Handoff], ports: list[int], run: Run, args: argparse.Namespace, until: float
) -> None:
    """Post the handoffs, paced, from ``args.threads`` threads; none after ``until``."""
    local = threading.local()
    rate = len(handoffs) / (args.minutes * 60 * 0.6)

    def post(handoff: Handoff) -> None:
        if time.monotonic() > until:
            return
        if not hasattr(local, "client"):
            local.client = BatonClient(
                f"http://127.0.0.1:{ports[0]}", API_KEY, retries=8, transport=RoundRobin(ports)
            )
        began = time.perf_counter()
        try:
            accepted = local.client.handoff(handoff)
        except BatonError as exc:
            with run.lock:
                run.posted += 1
                run.failed[type(exc).__name__] += 1
            return
        with run.lock:
            run.posted += 1
            run.latency.append(time.perf_counter() - began)
            run.accepted[accepted.id] = accepted.existing

    start = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        for i, handoff in enumerate(handoffs):
            due = start + i / rate
            if due > until:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(post, handoff)
