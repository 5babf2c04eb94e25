"""Callback delivery latency to the agent platform, with the receiver up and then down.

What it measures: ``--handoffs`` handoffs are stored and delivered (a ticket link each, so the
store writes one ``ticket.created`` callback each, as in production), then the real callback
sender (``core.callback_sender``) POSTs them, Standard Webhooks-signed, to a local receiver
that verifies every request with the ``standardwebhooks`` package. Run 1: the receiver is up.
Run 2: the receiver answers 503 for ``--down-seconds`` of real time (the sender's backoff
starts at ``--backoff`` seconds here, 5 in production), then comes back. For each run it
prints how many events arrived, duplicates by ``webhook-id``, refused signatures, and the
latency from the event's creation (in the delivery's transaction) to its acceptance
(p50 / p99 / max; the events of a run are all created before its sender starts).

    .venv/bin/python benchmarks/callbacks.py [--handoffs 500] [--down-seconds 3]
"""

from __future__ import annotations

import argparse
import base64
import logging
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from _common import isolated_store, machine_facts
from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook

from baton.core.callback_sender import CallbackSender, CallbackSettings
from baton.core.handoff import validate_handoff
from baton.core.store import Store
from baton.sandbox.server import serve_in_thread

SECRET = "whsec_" + base64.b64encode(b"benchmark-callback-secret-0123").decode()
HANDOFF = {
    "created_at": "2026-11-27T12:00:00Z",
    "conversation_id": "c-1",
    "channel": "chat",
    "intent": "billing.refund",
    "triggers": [{"kind": "explicit_request"}],
    "summary": "The customer asked for a person.",
}


class Receiver:
    """Verifies with standardwebhooks; records (webhook-id, arrival); 503 while down."""

    def __init__(self) -> None:
        self.verifier = Webhook(SECRET)
        self.arrived: dict[str, float] = {}
        self.ids: Counter[str] = Counter()
        self.refused = 0
        self.down = False
        self.lock = threading.Lock()

    def app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            if self.down:
                return Response(status_code=503)
            body = await request.body()
            try:
                self.verifier.verify(body, dict(request.headers))
            except Exception:
                with self.lock:
                    self.refused += 1
                return Response(status_code=401)
            webhook_id = request.headers["webhook-id"]
            with self.lock:
                self.ids[webhook_id] += 1
                self.arrived.setdefault(webhook_id, time.time())
            return Response(status_code=204)

        return app


def deliver(store: Store, count: int, prefix: str) -> dict[str, float]:
    """``count`` handoffs linked to tickets: their callbacks' webhook ids → creation time."""
    for n in range(count):
        handoff = validate_handoff({**HANDOFF, "id": f"{prefix}-{n}"})
        store.add_handoff(handoff, "zendesk")
    for claim in store.claim_deliveries("bench", limit=count):
        store.complete_delivery(
            claim.delivery_id, "bench", ticket_id=claim.handoff_id, ticket_url=None
        )
    return {
        v.webhook_id: v.created_at.timestamp()
        for v in store.list_callbacks(limit=10**6)
        if v.handoff_id.startswith(prefix)
    }


def run(store: Store, receiver: Receiver, url: str, args: argparse.Namespace, down: float) -> bool:
    """One run; True when every event arrived once with a valid signature."""
    created = deliver(store, args.handoffs, f"bench-{down:g}")
    settings = CallbackSettings(url, (SECRET,), backoff_initial=args.backoff, backoff_max=2.0)
    sender = CallbackSender(store, settings, clock=lambda: datetime.now(UTC))
    receiver.down = down > 0
    started = time.time()
    sender.start(poll_interval=0.05)
    try:
        if down:
            time.sleep(down)
            receiver.down = False
        deadline = time.time() + 120
        while time.time() < deadline and not set(created) <= set(receiver.arrived):
            time.sleep(0.05)
    finally:
        sender.stop()
    arrived = [receiver.arrived[i] - created[i] for i in created if i in receiver.arrived]
    missing = len(created) - len(arrived)
    duplicates = sum(receiver.ids[i] - 1 for i in created if receiver.ids[i] > 1)
    cuts = statistics.quantiles(arrived, n=100) if len(arrived) > 1 else [0.0] * 99
    label = f"receiver down {down:g} s, then up" if down else "receiver up"
    print(
        f"{label}: {len(arrived)}/{len(created)} events arrived in {time.time() - started:.1f} s; "
        f"missing {missing}, duplicates {duplicates}, refused signatures {receiver.refused}; "
        f"latency p50 {cuts[49]:.2f} s, p99 {cuts[98]:.2f} s, max {max(arrived, default=0):.2f} s"
    )
    return missing == 0 and receiver.refused == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=500)
    parser.add_argument("--down-seconds", type=float, default=3.0)
    parser.add_argument("--backoff", type=float, default=0.5, help="first retry delay, seconds")
    args = parser.parse_args()
    logging.getLogger("baton.core.callback_sender").setLevel(logging.ERROR)  # retries expected
    print(machine_facts())
    receiver = Receiver()
    ok = True
    with isolated_store("sqlite") as store, serve_in_thread(receiver.app()) as server:
        store.callbacks_enabled = True
        url = f"{server.base_url}/hook"
        ok &= run(store, receiver, url, args, 0.0)
        ok &= run(store, receiver, url, args, args.down_seconds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
