"""A platform's running sandbox, read the way a person checking it would: over HTTP.

``Desk`` starts a delivering platform's sandbox through its plugin (``start_sandbox``) and
counts what is on the platform through the platform's own API (Zendesk's tickets and
comments, Salesforce's SOQL, HubSpot's search and notes) and the sandbox's control API
(``/_sandbox/requests``, ``/_sandbox/faults``), never through the connector's look-up logic or
the sandbox's state.
The requests the desk sends itself are left out of :meth:`Desk.worker_requests`, so a test
can read the platform between two runs of a worker and still count only the worker's calls.

The per-platform part (where a create goes, what a look-up by external id is, how tickets and
notes are counted) is one :class:`Profile` per platform; a delivering platform with a sandbox
and no profile fails the tests that use it, so a new platform is not silently left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx

from baton.core.catalog import load_catalog
from baton.core.mapping.note import carries_note_marker
from baton.core.plugin import LocalSandbox, PlatformPlugin, registry
from tests.support.paths import catalog_path

CONTROL = "/_sandbox"
SALESFORCE_VERSION = "61.0"
SALESFORCE_QUERY = f"/services/data/v{SALESFORCE_VERSION}/query"
EXTERNAL_ID_FIELD = "Baton_Handoff_Id__c"
Json = dict[str, Any]
RequestKey = tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]]


def sandbox_platforms() -> list[str]:
    """Every delivering platform that runs a local sandbox, in the registry's order."""
    return [p.name for p in registry() if p.delivers and p.has_sandbox]


@dataclass(frozen=True)
class Logged:
    """One vendor-API request from the sandbox's request log."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int | None
    fault: str | None

    @property
    def key(self) -> RequestKey:
        return _key(self.method, self.path, self.query)


def _key(method: str, path: str, query: dict[str, list[str]]) -> RequestKey:
    return (method, path, tuple(sorted((k, tuple(v)) for k, v in query.items())))


@dataclass(frozen=True)
class Ticket:
    """A ticket (case) as the platform's API shows it, with the bodies of its comments and
    whether each is private."""

    id: str
    comments: list[tuple[str, bool]]

    def notes_for(self, handoff_id: str) -> int:
        """Private comments carrying Baton's note marker for ``handoff_id``."""
        return sum(1 for body, private in self.comments if private and _is_note(body, handoff_id))


def _is_note(body: str, handoff_id: str) -> bool:
    return carries_note_marker(body, handoff_id)


@dataclass(frozen=True)
class Profile:
    """What differs between platforms for the end-to-end tests."""

    create_path: str  # regex on the path of the call that creates a ticket
    create_method: str
    is_lookup: Callable[[Logged, str], bool]  # a look-up of the handoff id's ticket
    lookup_method: str  # the look-up's method and path regex, for faults
    lookup_path: str
    tickets_for: Callable[[Desk, str], list[Ticket]]
    note_in_create: bool  # the note travels in the create (no marker, one comment)
    is_login: Callable[[Logged], bool]
    # The note is a second call made once the create's answer is in: a create whose answer
    # is lost leaves the ticket without its note until the retry posts it.
    note_follows_create: bool = False


# --- Zendesk ---------------------------------------------------------------------------


def _zendesk_tickets(desk: Desk, external_id: str) -> list[Ticket]:
    found = desk.get("/api/v2/tickets.json", params={"external_id": external_id})
    tickets = []
    for ticket in found["tickets"]:
        comments = desk.get(f"/api/v2/tickets/{ticket['id']}/comments.json")["comments"]
        pairs = [(str(c.get("html_body") or c["body"]), not c["public"]) for c in comments]
        tickets.append(Ticket(str(ticket["id"]), pairs))
    return tickets


def _zendesk_lookup(entry: Logged, handoff_id: str) -> bool:
    return (
        entry.method == "GET"
        and entry.path == "/api/v2/tickets.json"
        and entry.query.get("external_id") == [handoff_id]
    )


# --- Salesforce ------------------------------------------------------------------------


def _soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _salesforce_tickets(desk: Desk, external_id: str) -> list[Ticket]:
    cases = desk.soql(
        f"SELECT Id, CaseNumber FROM Case WHERE {EXTERNAL_ID_FIELD} = {_soql_text(external_id)}"  # noqa: S608
    )
    tickets = []
    for case in cases:
        comments = desk.soql(
            "SELECT Id, CommentBody, IsPublished FROM CaseComment "  # noqa: S608
            f"WHERE ParentId = {_soql_text(str(case['Id']))}"
        )
        pairs = [(str(c.get("CommentBody") or ""), not c.get("IsPublished")) for c in comments]
        tickets.append(Ticket(str(case["Id"]), pairs))
    return tickets


def _salesforce_lookup(entry: Logged, handoff_id: str) -> bool:
    text = " ".join(entry.query.get("q", []))
    return (
        entry.method == "GET"
        and entry.path.rstrip("/").endswith("/query")
        and "FROM Case WHERE" in text
        and handoff_id in text
    )


# --- HubSpot ---------------------------------------------------------------------------

HUBSPOT_SEARCH = "/crm/v3/objects/tickets/search"
HUBSPOT_ID_PROPERTY = "baton_handoff_id"


def _hubspot_tickets(desk: Desk, external_id: str) -> list[Ticket]:
    search = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": HUBSPOT_ID_PROPERTY, "operator": "EQ", "value": external_id}
                ]
            }
        ],
        "properties": [HUBSPOT_ID_PROPERTY],
        "limit": 10,
    }
    tickets = []
    for ticket in desk.post(HUBSPOT_SEARCH, search)["results"]:
        links = desk.get(f"/crm/v4/objects/tickets/{ticket['id']}/associations/notes")
        bodies = [
            str(
                desk.get(
                    f"/crm/v3/objects/notes/{link['toObjectId']}",
                    params={"properties": "hs_note_body"},
                )["properties"].get("hs_note_body")
                or ""
            )
            for link in links["results"]
        ]
        tickets.append(Ticket(str(ticket["id"]), [(body, True) for body in bodies]))
    return tickets


PROFILES: dict[str, Profile] = {
    "zendesk": Profile(
        create_path=r"^/api/v2/tickets\.json$",
        create_method="POST",
        is_lookup=_zendesk_lookup,
        lookup_method="GET",
        lookup_path=r"^/api/v2/tickets\.json$",
        tickets_for=_zendesk_tickets,
        note_in_create=True,
        is_login=lambda entry: False,
    ),
    "salesforce": Profile(
        create_path=r"^/services/data/v[0-9.]+/composite$",
        create_method="POST",
        is_lookup=_salesforce_lookup,
        lookup_method="GET",
        lookup_path=r"^/services/data/v[0-9.]+/query/?$",
        tickets_for=_salesforce_tickets,
        note_in_create=False,
        is_login=lambda entry: entry.path.startswith("/services/oauth2/"),
    ),
    "hubspot": Profile(
        create_path=r"^/crm/v3/objects/tickets$",
        create_method="POST",
        lookup_method="POST",
        lookup_path=f"^{re.escape(HUBSPOT_SEARCH)}$",
        # A search's filter travels in its body, which the request log does not keep: the
        # worker searches tickets only to look a handoff's ticket up.
        is_lookup=lambda entry, _handoff_id: (
            entry.method == "POST" and entry.path == HUBSPOT_SEARCH
        ),
        tickets_for=_hubspot_tickets,
        note_in_create=False,
        is_login=lambda entry: False,
        note_follows_create=True,
    ),
}


def profile(platform: str) -> Profile:
    """The platform's profile; a clear failure for a platform the tests do not know yet."""
    try:
        return PROFILES[platform]
    except KeyError:
        raise AssertionError(
            f"tests/e2e/desks.py has no profile for the platform {platform!r}: add one"
        ) from None


# --- the desk --------------------------------------------------------------------------


class Desk:
    """A platform's sandbox, started through its plugin, and an HTTP client on it."""

    def __init__(self, plugin: PlatformPlugin, sandbox: LocalSandbox) -> None:
        self.plugin = plugin
        self.platform = plugin.name
        self.sandbox = sandbox
        self.profile = profile(plugin.name)
        self.http = httpx.Client(base_url=sandbox.base_url, timeout=10)
        self._own: list[RequestKey] = []
        self._token: str | None = None

    @property
    def env(self) -> dict[str, str]:
        """The ``BATON_<PLATFORM>_*`` settings pointing Baton at this sandbox."""
        return dict(self.sandbox.env)

    def close(self) -> None:
        """Release the client and stop the sandbox."""
        self.http.close()
        self.sandbox.stop()

    # reading the vendor API (remembered, so that worker_requests leaves it out)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        params = {k: [str(v)] for k, v in (kwargs.get("params") or {}).items()}
        self._own.append(_key(method, path, params))
        return self.http.request(method, path, **kwargs)

    def get(self, path: str, params: dict[str, str] | None = None) -> Json:
        """A GET on the vendor API with the platform's credentials."""
        response = self._send("GET", path, params=params, **self._auth())
        response.raise_for_status()
        answer: Json = response.json()
        return answer

    def post(self, path: str, body: Json) -> Json:
        """A POST on the vendor API with the platform's credentials (HubSpot's search)."""
        response = self._send("POST", path, json=body, **self._auth())
        response.raise_for_status()
        answer: Json = response.json()
        return answer

    def _auth(self) -> dict[str, Any]:
        env = self.sandbox.env
        if self.platform == "hubspot":
            return {"headers": {"Authorization": f"Bearer {env['BATON_HUBSPOT_ACCESS_TOKEN']}"}}
        if self.platform == "zendesk":
            return {"auth": (f"{env['BATON_ZENDESK_EMAIL']}/token", env["BATON_ZENDESK_TOKEN"])}
        if self.platform == "salesforce":
            if self._token is None:
                auth = (env["BATON_SALESFORCE_CLIENT_ID"], env["BATON_SALESFORCE_CLIENT_SECRET"])
                token = self._send(
                    "POST",
                    "/services/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    auth=auth,
                )
                token.raise_for_status()
                self._token = str(token.json()["access_token"])
            return {"headers": {"Authorization": f"Bearer {self._token}"}}
        raise AssertionError(f"no credentials known for {self.platform}")

    def soql(self, text: str) -> list[Json]:
        """Every record of a SOQL query (Salesforce), following ``nextRecordsUrl``."""
        page = self.get(SALESFORCE_QUERY, params={"q": text})
        records: list[Json] = list(page["records"])
        while page.get("nextRecordsUrl"):
            page = self.get(str(page["nextRecordsUrl"]))
            records.extend(page["records"])
        return records

    def tickets_for(self, external_id: str) -> list[Ticket]:
        """The tickets carrying ``external_id``, with their comments, through the API."""
        return self.profile.tickets_for(self, external_id)

    # the control API (not in the request log)

    def control(self, method: str, path: str, body: Json | None = None) -> Json:
        """A call on the sandbox's control API."""
        response = self.http.request(method, f"{CONTROL}{path}", json=body)
        response.raise_for_status()
        answer: Json = response.json()
        return answer

    def add_fault(self, kind: str, *, seconds: float = 0.0) -> None:
        """Queue ``kind`` for the platform's next create."""
        body = {
            "kind": kind,
            "method": self.profile.create_method,
            "path_regex": self.profile.create_path,
            "seconds": seconds,
        }
        self.control("POST", "/faults", body)

    def add_lookup_fault(self, kind: str, *, times: int) -> None:
        """Queue ``kind`` for the platform's next ``times`` look-ups of a handoff's ticket."""
        body = {
            "kind": kind,
            "method": self.profile.lookup_method,
            "path_regex": self.profile.lookup_path,
            "times": times,
        }
        self.control("POST", "/faults", body)

    def clear_faults(self) -> None:
        """Drop every queued fault and random rule."""
        self.control("DELETE", "/faults")

    def queued_faults(self) -> list[Json]:
        """The faults queued and not yet applied."""
        queued: list[Json] = self.control("GET", "/faults")["queued"]
        return queued

    def requests(self) -> list[Logged]:
        """Every vendor-API request in the sandbox's request log, oldest first."""
        log = self.control("GET", "/requests")
        assert log["received"] == len(log["requests"]), "the request log overflowed"
        return [
            Logged(r["method"], r["path"], parse_qs(r["query"]), r["status"], r.get("fault"))
            for r in log["requests"]
        ]

    def worker_requests(self) -> list[Logged]:
        """The logged requests less the ones this desk sent itself (one per own request)."""
        own = Counter(self._own)
        mine: list[Logged] = []
        for entry in self.requests():
            if own[entry.key] > 0:
                own[entry.key] -= 1
                continue
            mine.append(entry)
        return mine

    def creates(self) -> list[Logged]:
        """The worker's create calls."""
        pattern = re.compile(self.profile.create_path)
        return [
            e
            for e in self.worker_requests()
            if e.method == self.profile.create_method and pattern.search(e.path)
        ]

    def lookups(self, handoff_id: str) -> list[Logged]:
        """The worker's look-ups of the ticket carrying ``handoff_id``."""
        return [e for e in self.worker_requests() if self.profile.is_lookup(e, handoff_id)]


@contextmanager
def running_desk(platform: str, *, rate_limit: int = 700) -> Iterator[Desk]:
    """``platform``'s sandbox on a free local port, seeded from its catalog."""
    plugin = registry().get(platform)
    catalog = load_catalog(catalog_path(platform))
    sandbox = plugin.start_sandbox(catalog, port=0, rate_limit=rate_limit, clock=None)
    desk = Desk(plugin, sandbox)
    try:
        yield desk
    finally:
        desk.close()
