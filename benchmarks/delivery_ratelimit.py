"""Delivery of a handoff backlog against a platform sandbox's rate limit.

What it measures: a backlog of ``--handoffs`` handoffs (copies of examples/handoffs/*.json,
each with its own id) is stored with ``Store.add_handoff`` (outbox rows), then the real
delivery workers (``core.delivery``, ``--concurrency`` threads) create the tickets through
the real connector of ``--platform`` (default zendesk; any delivering platform with a
sandbox) in its local sandbox, started through the platform's plugin (``start_sandbox``)
with ``--limit`` requests per minute, the connector pointed at it by the sandbox's own
settings (``sandbox.env``). The sandbox's clock runs ``--time-factor`` times faster than real
time (Zendesk's one-minute rate window shrinks by that factor), so the connector's
client-side limiter (``BATON_<PLATFORM>_RATE_LIMIT``) is set to
``limit × time factor × --fraction`` requests per real minute, and the workers' retry waits
are divided by the time factor too. "Sandbox-minutes" are real minutes × time factor.
Salesforce has a daily API request limit rather than a per-minute one: its sandbox allows
``limit × 1440`` requests a (sandbox) day, so a backlog of this size meets no 429.

Everything is counted from outside: requests from the sandbox's request log over HTTP
(``GET /_sandbox/requests``, read as the run goes so the log's ring buffer never loses one;
each entry's status gives the 429s; logins such as Salesforce's OAuth token calls are shown
apart), tickets through the platform's own API (Zendesk's ticket list, Salesforce's SOQL on
Case with its external-id field) after the run, links and dead letters from the store.

The limiter's burst (a tenth of a minute's allowance) lets the first minute hold
``1.1 × fraction`` of the limit, so with the default 95 % expect a 429 or two at the start
(Zendesk).

How to read the output: ``calls per handoff`` (API calls other than logins, 429s included,
over handoffs) has 1.0 as its goal: one create call per first attempt; ``duplicates``
(external ids with more than one ticket) and ``lost`` (handoffs neither linked to a ticket
nor dead-lettered) must be 0; ``429 share`` must stay under 5 %; ``achieved`` is the rate of
accepted (non-429) requests per sandbox-minute as a fraction of the limit, i.e. how much of
the allowance the limiter actually uses (meaningful when the run spans several
sandbox-minutes: a backlog that fits in one rate window can go through faster than the
limit). The exit status is 1 when any of those checks fails, so the script can be used as a
check by hand.

    .venv/bin/python benchmarks/delivery_ratelimit.py [--platform zendesk|salesforce|hubspot]
        [--database sqlite|postgres] [--limit 700] [--max-429-share 0.05]

HubSpot's limit is a ten-second rolling window: its sandbox allows ``limit / 6`` requests per
(sandbox) ten seconds, and the connector's setting is per ten seconds, of which it spends 90 %.
A first attempt there is two calls (the ticket, then its note). HubSpot's own threshold for
an integration's error responses is 5 %; ``--max-429-share 0.01`` checks against 1 %:

    .venv/bin/python benchmarks/delivery_ratelimit.py --platform hubspot --limit 600 \
        --max-429-share 0.01
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from _common import (
    ROOT,
    database_facts,
    isolated_store,
    machine_facts,
    postgres_unreachable,
)

from baton.core.catalog import load_catalog
from baton.core.delivery import BackgroundJob, delivery_workers
from baton.core.handoff import Handoff, validate_handoff
from baton.core.mapping import load_mapping
from baton.core.plugin import registry
from baton.core.retry import RetryPolicy
from baton.core.store import Store

MAPPINGS = ROOT / "mappings"
EXAMPLES = ROOT / "examples" / "handoffs"
SETTLED = ("delivered", "dead")
COUNT_STATES = "SELECT state, count(*) FROM deliveries GROUP BY state"
CONTROL = "/_sandbox"
LOG_POLL_SECONDS = 0.1
SALESFORCE_QUERY = "/services/data/v61.0/query"
SALESFORCE_EXTERNAL_ID = "Baton_Handoff_Id__c"
HUBSPOT_ID_PROPERTY = "baton_handoff_id"
Json = dict[str, Any]


def backlog(count: int) -> list[Handoff]:
    """``count`` handoffs cycling through the examples, each with a unique id."""
    templates = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    run = uuid.uuid4().hex[:8]
    return [
        validate_handoff({**templates[i % len(templates)], "id": f"bench-{run}-{i:05d}"})
        for i in range(count)
    ]


def scaled_policy(time_factor: float) -> RetryPolicy:
    """The default retry policy with every wait divided by the sandbox's time factor."""
    default = RetryPolicy()
    return RetryPolicy(
        quick_initial=default.quick_initial / time_factor,
        quick_max=default.quick_max / time_factor,
        quick_budget=default.quick_budget / time_factor,
        backoff_initial=default.backoff_initial / time_factor,
        backoff_max=default.backoff_max / time_factor,
        pause_seconds=default.pause_seconds / time_factor,
    )


def states(store: Store) -> Counter[str]:
    """Deliveries per state, read on a raw DBAPI connection (no write lock on SQLite)."""
    connection = store.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(COUNT_STATES)
        counts = Counter(dict(cursor.fetchall()))
        cursor.close()
        return counts
    finally:
        connection.close()


# --- counting from outside: the sandbox's request log and the platform's API ---------------


@dataclass
class RequestTally:
    """The sandbox's request log, read over HTTP every LOG_POLL_SECONDS while the run goes
    (the log keeps only its newest entries; ``received`` counts every one)."""

    http: httpx.Client
    is_login: Callable[[str], bool]
    received: int = 0
    missed: int = 0  # entries that left the ring buffer before they were read
    by_status: Counter[int | None] = field(default_factory=Counter)
    logins: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def poll(self) -> None:
        """Count the entries logged since the last poll."""
        log = self.http.get(f"{CONTROL}/requests").raise_for_status().json()
        new = int(log["received"]) - self.received
        entries = log["requests"][-new:] if new > 0 else []
        self.missed += new - len(entries)
        self.received = int(log["received"])
        for entry in entries:
            if self.is_login(entry["path"]):
                self.logins += 1
            else:
                self.by_status[entry["status"]] += 1

    def _run(self) -> None:
        while not self._stop.wait(LOG_POLL_SECONDS):
            self.poll()

    def start(self) -> None:
        """Poll in a background thread."""
        self._thread = threading.Thread(target=self._run, name="request-tally", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling, then read what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()

    @property
    def calls(self) -> int:
        """API calls other than logins, 429s included."""
        return sum(self.by_status.values())


def _get(http: httpx.Client, url: str, **kwargs: Any) -> Json:
    """A GET that waits out a 429 (the run may have used up the rate window)."""
    while True:
        response = http.get(url, **kwargs)
        if response.status_code != 429:
            answer: Json = response.raise_for_status().json()
            return answer
        time.sleep(1.0)


def zendesk_tickets(http: httpx.Client, env: Mapping[str, str]) -> dict[str, str | None]:
    """Every ticket's id → external_id, from Zendesk's ticket list (cursor-paged)."""
    auth = (f"{env['BATON_ZENDESK_EMAIL']}/token", env["BATON_ZENDESK_TOKEN"])
    tickets: dict[str, str | None] = {}
    url: str | None = "/api/v2/tickets.json?page[size]=100"
    while url:
        page = _get(http, url, auth=auth)
        tickets.update({str(t["id"]): t.get("external_id") for t in page["tickets"]})
        url = page["links"]["next"]
    return tickets


def salesforce_tickets(http: httpx.Client, env: Mapping[str, str]) -> dict[str, str | None]:
    """Every case's Id → external id, by SOQL with the connected app's client credentials."""
    auth = (env["BATON_SALESFORCE_CLIENT_ID"], env["BATON_SALESFORCE_CLIENT_SECRET"])
    form = {"grant_type": "client_credentials"}
    token = http.post("/services/oauth2/token", data=form, auth=auth).raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    query = f"SELECT Id, {SALESFORCE_EXTERNAL_ID} FROM Case"  # noqa: S608 - a constant
    page = _get(http, SALESFORCE_QUERY, params={"q": query}, headers=headers)
    cases = {str(c["Id"]): c.get(SALESFORCE_EXTERNAL_ID) for c in page["records"]}
    while page.get("nextRecordsUrl"):
        page = _get(http, str(page["nextRecordsUrl"]), headers=headers)
        cases.update({str(c["Id"]): c.get(SALESFORCE_EXTERNAL_ID) for c in page["records"]})
    return cases


def hubspot_tickets(http: httpx.Client, env: Mapping[str, str]) -> dict[str, str | None]:
    """Every ticket's id → its ``baton_handoff_id``, from the objects list (paged by id)."""
    headers = {"Authorization": f"Bearer {env['BATON_HUBSPOT_ACCESS_TOKEN']}"}
    tickets: dict[str, str | None] = {}
    params = {"limit": "100", "properties": HUBSPOT_ID_PROPERTY}
    while True:
        page = _get(http, "/crm/v3/objects/tickets", params=params, headers=headers)
        tickets.update(
            {str(t["id"]): t["properties"].get(HUBSPOT_ID_PROPERTY) for t in page["results"]}
        )
        after = (page.get("paging") or {}).get("next", {}).get("after")
        if after is None:
            return tickets
        params["after"] = str(after)


@dataclass(frozen=True)
class Desk:
    """What the benchmark knows of a platform: how to list its tickets' external ids, which
    requests are logins, the calls a first attempt takes, and how its rate setting reads."""

    tickets: Callable[[httpx.Client, Mapping[str, str]], dict[str, str | None]]
    is_login: Callable[[str], bool]
    calls_goal: float = 1.0
    rate_setting: Callable[[float], float] = lambda per_minute: per_minute


DESKS: dict[str, Desk] = {
    "zendesk": Desk(zendesk_tickets, lambda path: False),
    "salesforce": Desk(salesforce_tickets, lambda path: path.startswith("/services/oauth2/")),
    # The ticket, then its note: two calls. The setting is per ten seconds (a sixth of a
    # minute's), and the connector spends 90 % of it.
    "hubspot": Desk(hubspot_tickets, lambda path: False, 2.0, lambda per_minute: per_minute / 6),
}


def sandbox_platforms() -> list[str]:
    """Delivering platforms with a sandbox that the benchmark can count tickets on."""
    return [p.name for p in registry() if p.delivers and p.has_sandbox and p.name in DESKS]


def fast_clock(time_factor: float) -> Callable[[], datetime]:
    """A clock starting now and running ``time_factor`` times faster than real time."""
    start = datetime.now(UTC)
    began = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=(time.monotonic() - began) * time_factor)

    return now


def run(args: argparse.Namespace) -> bool:
    """One benchmark run; True when every check passes."""
    plugin = registry().get(args.platform)
    desk = DESKS[args.platform]
    client_limit = args.limit * args.time_factor * args.fraction
    print(machine_facts())
    print(f"database: {database_facts(args.database)}")
    print(
        f"platform: {plugin.title} sandbox, {args.limit} requests/min"
        + (f" (a daily limit of {args.limit * 1440})" if args.platform == "salesforce" else "")
        + f", time factor {args.time_factor:g} "
        f"(one sandbox-minute = {60 / args.time_factor:.1f} s real); client limiter at "
        f"{args.fraction:.0%} of it = {client_limit:.0f} requests per real minute; "
        f"{args.concurrency} worker threads"
    )
    catalog = load_catalog(MAPPINGS / "catalogs" / f"{args.platform}.json")
    handoffs = backlog(args.handoffs)
    sandbox = plugin.start_sandbox(
        catalog, port=0, rate_limit=args.limit, clock=fast_clock(args.time_factor)
    )
    try:
        with (
            isolated_store(args.database) as store,
            httpx.Client(base_url=sandbox.base_url, timeout=30) as http,
        ):
            started = time.perf_counter()
            for handoff in handoffs:
                store.add_handoff(handoff, args.platform)
            print(f"stored {len(handoffs)} handoffs in {time.perf_counter() - started:.1f} s")

            rate = desk.rate_setting(client_limit)
            env = {**sandbox.env, f"{plugin.settings_prefix}RATE_LIMIT": f"{rate:g}"}
            connector = plugin.make_connector(load_mapping(MAPPINGS, args.platform), env)
            workers = delivery_workers(
                store,
                {args.platform: connector},
                concurrency=args.concurrency,
                policy=scaled_policy(args.time_factor),
            )
            job = BackgroundJob(workers, poll_interval=0.05)
            tally = RequestTally(http, desk.is_login)
            tally.poll()  # anything before the run (nothing expected)
            before = (tally.calls, tally.logins)
            tally.by_status.clear()
            tally.logins = 0
            tally.start()
            started = time.perf_counter()
            deadline = started + args.timeout
            job.start()
            try:
                while time.perf_counter() < deadline:
                    counts = states(store)
                    if sum(counts[s] for s in SETTLED) >= len(handoffs):
                        break
                    time.sleep(0.05)
                wall = time.perf_counter() - started
            finally:
                job.stop()
                connector.close()
                tally.stop()
            counts = states(store)
            links = {h.id: store.ticket_link(h.id) for h in handoffs}
            dead = {d.handoff_id for d in store.list_deliveries("dead")}
            tickets = desk.tickets(http, sandbox.env)
    finally:
        sandbox.stop()

    per_external = Counter(tickets.values())
    ours = {h.id for h in handoffs}
    duplicates = sum(1 for ext, n in per_external.items() if ext in ours and n > 1)
    lost = sum(1 for hid, link in links.items() if link is None and hid not in dead)
    mislinked = sum(
        1 for hid, link in links.items() if link is not None and tickets.get(link.ticket_id) != hid
    )
    created = sum(per_external[h] for h in ours)
    calls = tally.calls
    rejected = tally.by_status.get(429, 0)
    share = rejected / calls if calls else 0.0
    sandbox_minutes = wall * args.time_factor / 60
    accepted_rate = (calls - rejected) / sandbox_minutes
    settled = sum(counts[s] for s in SETTLED) == len(handoffs)

    print(f"handoffs            {len(handoffs)}")
    print(f"tickets created     {created}")
    print(f"duplicates          {duplicates}")
    print(f"lost                {lost}")
    print(f"mislinked           {mislinked}")
    print(f"dead-lettered       {len(dead)}")
    print(f"unsettled           {len(handoffs) - sum(counts[s] for s in SETTLED)}")
    by_status = dict(sorted(tally.by_status.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
    print(f"requests sent       {calls}  (by status: {by_status}) + {tally.logins} logins")
    print(
        f"calls per handoff   {calls / len(handoffs):.3f}  (goal {desk.calls_goal:g}; without 429s "
        f"{(calls - rejected) / len(handoffs):.3f}; logins apart)"
    )
    print(f"429 answers         {rejected}  ({share:.2%} of requests)")
    if tally.missed or before != (0, 0):
        print(f"request log         {tally.missed} entries missed, {before} before the run")
    print(f"wall time           {wall:.1f} s")
    print(f"sandbox-minutes     {sandbox_minutes:.2f}")
    print(
        f"achieved            {accepted_rate:.0f} accepted requests per sandbox-minute = "
        f"{accepted_rate / args.limit:.2f} of the {args.limit}/min limit "
        f"({calls / sandbox_minutes:.0f}/min including 429s)"
    )
    problems = []
    if not settled:
        problems.append(f"not every delivery settled within {args.timeout:g} s")
    if duplicates or lost or mislinked:
        problems.append("duplicates, lost or mislinked tickets")
    if share >= args.max_429_share:
        problems.append(f"429 share at or above {args.max_429_share:.0%}")
    if tally.missed:
        problems.append("the request log lost entries before they were counted")
    print("result              " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    return not problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=sandbox_platforms(), default="zendesk")
    parser.add_argument("--handoffs", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=700, help="sandbox requests per minute")
    parser.add_argument(
        "--time-factor", type=float, default=5.0, help="how much faster the sandbox runs"
    )
    parser.add_argument(
        "--fraction", type=float, default=0.95, help="client limiter as a share of the limit"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before giving up")
    parser.add_argument(
        "--max-429-share", type=float, default=0.05, help="the 429 share that fails the run"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.database == "postgres" and (reason := postgres_unreachable()):
        print(f"skipped: {reason}")
        return 1
    return 0 if run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
