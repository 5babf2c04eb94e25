"""HubSpot sync past the 10,000-result search cap: every ticket once, its requests, its memory.

What it measures: ``--tickets`` Baton tickets (``baton_handoff_id`` = a handoff id; every
``--closed-every``-th in the Closed stage) are seeded into a HubSpot sandbox whose clock stands
still, so all of them share ONE ``hs_lastmodifieddate`` millisecond — the hard case, where the
connector's keyset cursor can only move through the tie filter
(``modified = T and hs_object_id > last``). The clock is then moved past the connector's
search horizon (``SEARCH_SETTLE_SECONDS``) and the
real sync runner (``core.sync.run_sync``) drives the real ``HubSpotConnector`` over HTTP against
the sandbox, into a fresh SQLite store. The sandbox enforces HubSpot's search rules (one sort,
``limit`` <= 200, a 400 for a page past 10,000 results), so a sync that pages one query past
the cap fails, and one that restarts the query from a wrong cursor loses or repeats tickets.

How it is set up, so the memory figure is the sync's own: the sandbox (25,000 tickets of
state, its search and HTTP server) runs in a child process started with ``spawn``; the sync
runs in this process, whose peak RSS (``ru_maxrss``) is printed, with the RSS sampled after
every committed page (``/proc/self/statm``) to show it stays flat. Seeding goes through
``HubSpotState.create`` (validation, history, stage dates), but with the id property's
uniqueness check lifted while seeding — that check scans every ticket on each create, which
makes 25,000 creates quadratic (about a minute); the ids are distinct by construction, and the
property is unique again before the sandbox serves. HubSpot dispositions carry their handoff id
(read from the ticket's property), so ``run_sync`` stores them without ticket links; the store
is then checked directly: one disposition row per ticket and handoff.

How to read the output: ``tickets synced`` must equal the tickets seeded, each exactly once —
counted both as the connector yielded them (per page, through ``run_sync``'s ``on_page``) and
as rows in the store. ``search queries restarted at the 10,000 cap`` counts the queries begun
again from the cursor (observed by wrapping ``connector.client.call``, which changes nothing
it does). ``API requests used`` comes from the sandbox's request log (``GET /_sandbox/requests``)
and is cross-checked against the connector's own count. ``tickets/second`` is wall time for the
whole sync; the sandbox's share (its search scans every ticket on each query) is printed
beside it. The exit status is 1 when a ticket is missing or synced twice, when the sync fails,
or when the peak RSS is over ``--goal-mb`` (default 150).

    .venv/bin/python benchmarks/hubspot_sync.py [--tickets 25000] [--closed-every 4] [--goal-mb 150]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import requests
import sqlalchemy as sa
from _common import (
    ROOT,
    ChildFailed,
    child_process,
    isolated_store,
    machine_facts,
    peak_rss_mb,
    rss_mb,
)

MAPPINGS = ROOT / "mappings"
SECRET = "bench-secret"  # noqa: S105 - the sandbox app's client secret, not a credential
RATE_LIMIT = "1000000"  # requests per ten seconds: Baton's own limiter never paces the run
SANDBOX_LIMIT = 10**9  # the sandbox's ten-second and daily limits: never a 429
START = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)  # the one modification millisecond
T = TypeVar("T")


def handoff_id(n: int) -> str:
    """The handoff id of the ``n``-th seeded ticket (``core.handoff.HANDOFF_ID_PATTERN``)."""
    return f"ho_bench_{n:06d}"


def handoff_index(value: str | None) -> int | None:
    """``n`` for :func:`handoff_id` (n), else None."""
    if value is None or not value.startswith("ho_bench_") or not value[9:].isdigit():
        return None
    return int(value[9:])


# ---- the sandbox, in a child process --------------------------------------------------------


def serve(conn: Connection, tickets: int, closed_every: int) -> None:
    """Child process: seed the sandbox, serve it, send its settings, stop when told."""
    from baton.connectors.hubspot import facts
    from baton.connectors.hubspot.local import LocalHubSpot
    from baton.core.catalog import load_catalog
    from baton.sandbox.clock import ManualClock
    from baton.sandbox.hubspot import UNIQUE_PROPERTY, HubSpotSandbox, HubSpotState

    clock = ManualClock(START)
    state = HubSpotState.from_catalog(
        load_catalog(MAPPINGS / "catalogs" / "hubspot.json"),
        clock=clock,
        ten_second_limit=SANDBOX_LIMIT,
        daily_limit=SANDBOX_LIMIT,
        search_per_second=None,
    )
    unique = state.properties["tickets"][UNIQUE_PROPERTY]
    started = time.perf_counter()
    state.add_property("tickets", dataclasses.replace(unique, has_unique_value=False))
    closed = 0
    for n in range(tickets):
        is_closed = closed_every > 0 and n % closed_every == 0
        closed += is_closed
        values = {
            "subject": f"Handoff {n}",
            "hs_pipeline": "0",
            "hs_pipeline_stage": "4" if is_closed else "1",
            UNIQUE_PROPERTY: handoff_id(n),
        }
        state.create("tickets", values, "INTEGRATION")
    state.add_property("tickets", unique)
    seeded = time.perf_counter() - started
    with state.lock:
        stamps = {
            r.properties.get("hs_lastmodifieddate") for r in state.records["tickets"].values()
        }
        ids = sorted(int(r.id) for r in state.records["tickets"].values())
    # The sync runs once the burst has settled in the search index (the connector's horizon).
    clock.advance(facts.SEARCH_SETTLE_SECONDS + 5)
    sandbox = HubSpotSandbox(state).start()
    try:
        conn.send(
            {
                "env": dict(LocalHubSpot(sandbox, SECRET).env),
                "base_url": sandbox.base_url,
                "seed_seconds": seeded,
                "closed": closed,
                "stamps": sorted(str(s) for s in stamps),
                "ids": (ids[0], ids[-1]) if ids else (0, 0),
            }
        )
        conn.recv()  # anything: stop
    finally:
        sandbox.stop()


# ---- measuring ------------------------------------------------------------------------------


class SearchWatch:
    """Wraps ``HubSpotClient.call`` to see each search request's cursor and ``after`` (what the
    call does is unchanged)."""

    def __init__(self, call: Callable[[Callable[[], Any]], Any]) -> None:
        self._call = call
        self.queries = 0
        self.pages = 0
        self.recent: deque[str] = deque(maxlen=8)
        self.starts: list[str] = []  # each query's tie filter (its cursor), the first 10

    def __call__(self, operation: Callable[[], T]) -> T:
        body = None
        if isinstance(operation, partial):
            body = operation.keywords.get("public_object_search_request")
        if body is None:
            return self._call(operation)  # type: ignore[no-any-return]
        self.pages += 1
        if not body.after:
            self.queries += 1
        groups = body.filter_groups or []
        ties = field(groups[1], "filters") if len(groups) > 1 else []
        cursor = ", ".join(
            f"{field(f, 'property_name', 'propertyName')} {field(f, 'operator')} "
            f"{field(f, 'value')}"
            for f in ties or []
        )
        line = f"search #{self.pages}: after={body.after} limit={body.limit} [{cursor}]"
        if not body.after and len(self.starts) < 10:
            self.starts.append(f"page {self.pages}: {cursor}")
        try:
            answer = self._call(operation)
        except Exception as exc:
            self.recent.append(f"{line} -> {type(exc).__name__}: {exc}")
            raise
        results = list(answer.results or [])
        ids = f"ids {results[0].id}..{results[-1].id}" if results else "no results"
        following = answer.paging.next.after if answer.paging and answer.paging.next else None
        self.recent.append(f"{line} -> {len(results)} ({ids}), next after={following}")
        return answer  # type: ignore[no-any-return]


def field(item: Any, name: str, key: str | None = None) -> Any:
    """``item[key or name]`` for a dict, else the SDK model's attribute ``name``."""
    if isinstance(item, dict):
        return item.get(key or name)
    return getattr(item, name, None)


def request_kinds(entries: list[dict[str, Any]]) -> Counter[str]:
    """The sandbox's logged requests by kind."""
    kinds: Counter[str] = Counter()
    for entry in entries:
        path, query = entry["path"], entry.get("query") or ""
        if path.startswith("/_sandbox"):
            continue
        if path.endswith("/tickets/search"):
            kind = "search pages"
        elif path.endswith("/tickets/batch/read"):
            kind = "history reads"
        elif path.endswith("/tickets") and "archived=true" in query.lower():
            kind = "archived reads"
        else:
            kind = f"other ({entry['method']} {path}?{query})"
        kinds[kind] += 1
        if entry.get("status") != 200:
            kinds[f"answered {entry.get('status')}"] += 1
    return kinds


# ---- the run --------------------------------------------------------------------------------


def main() -> int:
    """Seed (child), sync (here), check; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=25_000)
    parser.add_argument("--closed-every", type=int, default=4, help="0: none closed")
    parser.add_argument("--goal-mb", type=float, default=150.0, help="peak RSS goal")
    args = parser.parse_args()

    print(machine_facts())
    try:
        with child_process(serve, args.tickets, args.closed_every) as info:
            return run(args, info)
    except ChildFailed as exc:
        print(f"the sandbox process failed: {exc}")
        return 1


def run(args: argparse.Namespace, info: dict[str, Any]) -> int:
    """Sync against the seeded sandbox described by ``info``; print; 0 when every goal holds."""
    from baton.connectors.hubspot.connector import HubSpotConnector
    from baton.core.mapping import load_mapping
    from baton.core.ports import ChangePage
    from baton.core.sync import run_sync
    from baton.core.tables import DispositionRow

    stamps = info["stamps"]
    print(
        f"tickets seeded (one modification millisecond): {args.tickets} "
        f"({info['closed']} closed; distinct hs_lastmodifieddate: {len(stamps)} = {stamps[:2]}; "
        f"ids {info['ids'][0]}..{info['ids'][1]}) in {info['seed_seconds']:.1f} s"
    )
    env = {**info["env"], "BATON_HUBSPOT_RATE_LIMIT": RATE_LIMIT}
    connector = HubSpotConnector.from_env(load_mapping(MAPPINGS, "hubspot"), env)
    watch = SearchWatch(connector.client.call)
    connector.client.call = watch  # type: ignore[method-assign]
    control = f"{info['base_url']}/_sandbox/requests"
    requests.delete(control, timeout=10)

    seen = bytearray(args.tickets)  # dispositions yielded per seeded ticket (capped at 255)
    unexpected: list[str] = []
    page_rss: list[float] = []

    def on_page(page: ChangePage) -> None:
        for disposition in page.dispositions:
            n = handoff_index(disposition.handoff_id)
            if n is None or n >= args.tickets:
                unexpected.append(f"{disposition.ticket_id}:{disposition.handoff_id}")
            elif seen[n] < 255:
                seen[n] += 1
        page_rss.append(rss_mb())

    with isolated_store("sqlite") as store:
        rss_before = rss_mb()
        peak_before = peak_rss_mb()
        started = time.perf_counter()
        failure = None
        try:
            summary = run_sync(
                store, connector, name="hubspot", since=START - timedelta(hours=1), on_page=on_page
            )
        except Exception as exc:
            failure = exc
            summary = None
        elapsed = time.perf_counter() - started
        peak = peak_rss_mb()
        log = requests.get(control, params={"limit": 100_000}, timeout=30).json()
        with store.reading() as session:
            per_ticket = session.execute(
                sa.select(DispositionRow.ticket_id, sa.func.count()).group_by(
                    DispositionRow.ticket_id
                )
            ).all()
            stored_handoffs = session.scalars(sa.select(DispositionRow.handoff_id)).all()
    connector.close()

    entries = list(log["requests"])
    kinds = request_kinds(entries)
    received = int(log["received"])
    sandbox_seconds = sum(float(e["duration_ms"]) for e in entries) / 1000

    if failure is not None:
        print(f"SYNC FAILED after {elapsed:.1f} s: {type(failure).__name__}: {failure}")
        traceback.print_exception(failure, limit=4, file=sys.stdout)
        print("the last search requests (cursor = the tie filter):")
        for line in watch.recent:
            print(f"  {line}")
        print("the last requests the sandbox logged:")
        for entry in entries[-8:]:
            print(f"  {entry['method']} {entry['path']}?{entry['query']} -> {entry['status']}")

    yielded_missing = sum(1 for count in seen if count == 0)
    yielded_twice = sum(count - 1 for count in seen if count > 1)
    stored = Counter(handoff_index(h) for h in stored_handoffs)
    stored_missing = sum(1 for n in range(args.tickets) if stored[n] == 0)
    stored_twice = max(
        sum(c - 1 for c in stored.values()), sum(c - 1 for _, c in per_ticket if c > 1)
    )
    synced = args.tickets - yielded_missing
    once = yielded_missing == yielded_twice == stored_missing == stored_twice == 0
    once = once and not unexpected and failure is None
    print(
        f"tickets synced: {synced} (each once: {'yes' if once else 'NO'}; "
        f"duplicates {yielded_twice}, missing {yielded_missing})"
    )
    if summary is not None:
        print(
            f"  store: {len(stored_handoffs)} disposition rows for {len(per_ticket)} tickets "
            f"(missing {stored_missing}, repeated {stored_twice}); run_sync: {summary.pages} "
            f"pages, {summary.examined} examined, {summary.applied} applied, "
            f"{summary.duplicates} duplicates, {summary.skipped} skipped"
        )
        print(f"  cursor after: {summary.cursor_after}")
    if unexpected:
        print(f"  dispositions for tickets not seeded: {len(unexpected)} {unexpected[:5]}")
    print(
        f"search queries restarted at the 10,000 cap: {max(0, watch.queries - 1)} "
        f"({watch.queries} queries, {watch.pages} search pages)"
    )
    for start in watch.starts:
        print(f"  query from {start}")
    described = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    partial_log = " (log holds only the newest entries)" if received > len(entries) else ""
    print(
        f"API requests used: {received} ({described}){partial_log}; "
        f"the connector counted {connector.client.requests}"
    )
    rate = synced / elapsed if elapsed > 0 else float("nan")
    print(
        f"tickets/second: {rate:,.0f} (sync {elapsed:.1f} s wall, of which the sandbox spent "
        f"{sandbox_seconds:.1f} s answering)"
    )
    low, high = (min(page_rss), max(page_rss)) if page_rss else (rss_before, rss_before)
    print(
        f"peak RSS: {peak:.0f} MB (goal under {args.goal_mb:g} MB; {peak_before:.0f} MB before "
        f"the sync, RSS {rss_before:.0f} MB); RSS across pages: {low:.0f}..{high:.0f} MB "
        f"over {len(page_rss)} pages"
    )
    ok = once and peak < args.goal_mb
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
