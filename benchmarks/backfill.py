"""``baton backfill`` against a platform's local sandbox: API requests per handoff, and that a
rerun of the same file creates nothing.

Writes ``--handoffs`` handoffs (copies of examples/handoffs/*.json, each with its own id) to a
JSON Lines file, starts the platform's sandbox seeded from its catalog, points the connector at
it, and runs the real command twice on a fresh SQLite store. Prints the vendor-API requests the
sandbox received (its request log: every call, login included), each kind apart, and per
handoff — goal for a platform with a bulk endpoint: ≤ 0.02 — and the tickets the rerun created
(must be 0). The customer's contact is HubSpot's own record, not the ticket's: its look-ups
(contacts search and create) and the ticket-contact association calls are printed apart and
left out of the per-handoff figure there. The exit status is 1 when the figure is over
``--goal`` or a run failed.

    .venv/bin/python benchmarks/backfill.py --platform salesforce|hubspot [--handoffs 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from typer.testing import CliRunner

from baton.core.catalog import load_catalog
from baton.core.plan_summary import load_examples
from baton.core.plugin import registry
from baton.core.store import Store

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"


def write_handoffs(path: Path, count: int, platform: str) -> None:
    """``count`` handoffs for ``platform``, cycling through the examples."""
    examples = [handoff for _, handoff in load_examples(ROOT / "examples" / "handoffs")]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            base = examples[n % len(examples)]
            copy = base.model_copy(update={"id": f"backfill-{n:06d}", "destination": platform})
            out.write(copy.model_dump_json() + "\n")


APART = {"hubspot": re.compile(r"/contacts|/associations/[^/]+/contacts")}
"""Per platform: requests for the customer's contact, printed apart from the goal's figure."""
_ID = re.compile(r"/[0-9][0-9A-Za-z]*(?=/|$)")


def request_kinds(base_url: str, count: int) -> Counter[str]:
    """The newest ``count`` logged requests by ``METHOD path`` (ids as ``{id}``)."""
    if count < 1:
        return Counter()
    answer = httpx.get(f"{base_url}/_sandbox/requests", params={"limit": count}, timeout=10)
    answer.raise_for_status()
    entries = answer.json()["requests"][-count:] if count else []
    return Counter(f"{e['method']} {_ID.sub('/{id}', e['path'])}" for e in entries)


def received(base_url: str) -> int:
    """How many vendor-API requests the sandbox has received."""
    answer = httpx.get(f"{base_url}/_sandbox/requests", params={"limit": 1}, timeout=10)
    answer.raise_for_status()
    return int(answer.json()["received"])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--platform", default="salesforce")
    parser.add_argument("--handoffs", type=int, default=1_000)
    parser.add_argument("--goal", type=float, default=0.02, help="requests per handoff at most")
    options = parser.parse_args()
    plugin = registry().get(options.platform)
    catalog = load_catalog(MAPPINGS / "catalogs" / f"{options.platform}.json")
    sandbox = plugin.start_sandbox(catalog, port=0, rate_limit=1_000_000, clock=None)
    from baton.webhooks.cli import app

    try:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/backfill.db"
            store = Store(url)
            store.migrate()
            store.close()
            os.environ.update({**sandbox.env, "BATON_DATABASE_URL": url})
            path = Path(folder) / "handoffs.jsonl"
            write_handoffs(path, options.handoffs, options.platform)
            args = ["backfill", str(path), "--platform", options.platform]
            args += ["--mappings", str(MAPPINGS)]
            runner = CliRunner()
            before = received(sandbox.base_url)
            started = time.perf_counter()
            first = runner.invoke(app, args)
            elapsed = time.perf_counter() - started
            calls = received(sandbox.base_url) - before
            kinds = request_kinds(sandbox.base_url, calls)
            print(first.output.strip())
            rerun = runner.invoke(app, args)
            print(rerun.output.strip())
            rerun_calls = received(sandbox.base_url) - before - calls
    finally:
        sandbox.stop()
    print(f"platform: {options.platform}; handoffs: {options.handoffs}")
    apart = APART.get(options.platform)
    aside = sum(n for kind, n in kinds.items() if apart is not None and apart.search(kind))
    for kind, n in sorted(kinds.items()):
        note = "  (apart: the customer's contact)" if apart and apart.search(kind) else ""
        print(f"  {n:6d}  {kind}{note}")
    counted = calls - aside
    per_handoff = counted / options.handoffs
    print(
        f"first run: {elapsed:.1f} s, {calls} API requests; {counted} for tickets and notes = "
        f"{per_handoff:.3f} per handoff (goal ≤ {options.goal:g}); {aside} for contacts"
    )
    print(f"rerun: {rerun_calls} API requests; exit codes {first.exit_code}, {rerun.exit_code}")
    ok = first.exit_code == 0 and rerun.exit_code == 0 and per_handoff <= options.goal
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
