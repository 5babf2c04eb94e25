"""Salesforce's REST resources under ``/services/data/vXX.X/``, as one dispatcher that both the
HTTP routes and ``/composite`` subrequests call: sObject rows, upsert by external id, describe,
CaseComment, query and query more, deleted records, composite and sObject collections."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.cases import auto_assign
from baton.sandbox.salesforce.errors import SalesforceError, fail
from baton.sandbox.salesforce.org import Cursor
from baton.sandbox.salesforce.relations import expanded, nested
from baton.sandbox.salesforce.schema import describe, sf_datetime, wire
from baton.sandbox.salesforce.soql import SoqlError, malformed, matches, order, parse, resolve

if TYPE_CHECKING:
    from baton.sandbox.salesforce.state import SalesforceState

_VERSIONED = re.compile(r"^/services/data/v(\d{2,3}\.\d)/(.*)$")
_LOCATOR = re.compile(r"^query/([0-9A-Za-z]{18})-(\d+)$")


@dataclass
class Answer:
    """A REST answer: status, JSON body (None: no content) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class RestApi:
    """Dispatches one REST request (already authenticated) to the org."""

    def __init__(self, org: SalesforceState) -> None:
        self.org = org

    def handle(self, method: str, url: str, headers: Mapping[str, str], body: Any) -> Answer:
        """Answer ``method url`` (a path with its query string); SalesforceError on refusal."""
        parts = urlsplit(url)
        match = _VERSIONED.match(parts.path)
        if match is None:
            raise SalesforceError(404, [dict(facts.NOT_FOUND)])
        version, rest = match.group(1), match.group(2).rstrip("/")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        segments = [unquote(s) for s in rest.split("/")]
        method = method.upper()
        if segments[0] == "sobjects" and len(segments) >= 2:
            return self._sobjects(method, segments[1:], query, headers, body, version)
        if rest == "query" and method == "GET":
            return Answer(200, self.query(query.get("q", ""), version, headers))
        if _LOCATOR.match(rest) and method == "GET":
            return Answer(200, self.query_more(rest, version))
        if rest == "composite" and method == "POST":
            from baton.sandbox.salesforce.composite import composite

            return Answer(200, composite(self, body, headers, version))
        if segments[:2] == ["composite", "sobjects"]:
            from baton.sandbox.salesforce.composite import collection

            return Answer(200, collection(self, method, segments[2:], body, headers, version))
        raise SalesforceError(404, [dict(facts.NOT_FOUND)])

    # ---- sObjects --------------------------------------------------------------------------

    def _sobjects(
        self,
        method: str,
        segments: list[str],
        query: dict[str, str],
        headers: Mapping[str, str],
        body: Any,
        version: str,
    ) -> Answer:
        org = self.org
        sobject, rest = segments[0], segments[1:]
        if sobject not in org.schemas:
            raise SalesforceError(404, [dict(facts.NOT_FOUND)])
        assign = auto_assign(headers.get(facts.AUTO_ASSIGN_HEADER))
        writable = sobject in ("Case", "CaseComment")
        if not rest and method == "POST" and writable:
            if sobject == "Case":
                return Answer(201, org.create_case(body, assign))
            return Answer(201, org.create_comment(body))
        if rest == ["describe"] and method == "GET":
            return Answer(200, describe(org.schemas[sobject], sobject, version))
        if rest == ["deleted"] and method == "GET":
            return Answer(200, self.deleted(sobject, query))
        if len(rest) == 1 and method == "GET":
            fields = (
                [f.strip() for f in query["fields"].split(",")] if query.get("fields") else None
            )
            return Answer(200, org.read(sobject, rest[0], fields, version))
        if len(rest) == 1 and sobject == "Case" and method == "PATCH":
            org.update_case(rest[0], body, assign)
            return Answer(204)
        if len(rest) == 1 and sobject == "Case" and method == "DELETE":
            org.delete_case(rest[0])
            return Answer(204)
        if len(rest) == 2 and sobject == "Case" and method == "PATCH":
            status, answer = org.upsert_case(rest[0], rest[1], body, assign, version)
            return Answer(status, answer)
        if len(rest) == 2 and method == "PATCH":
            org.check_external_id_field(sobject, rest[0])
        raise SalesforceError(404, [dict(facts.NOT_FOUND)])

    # ---- query -----------------------------------------------------------------------------

    def query(self, text: str, version: str, headers: Mapping[str, str]) -> dict[str, Any]:
        """Run SOQL ``text``: the first batch, and ``nextRecordsUrl`` when there is more."""
        try:
            parsed = parse(text)
        except SoqlError as exc:
            raise malformed(exc) from None
        org = self.org
        with org.lock:
            specs = resolve(parsed, org.schemas)
            every = expanded(
                list(org.records[parsed.sobject].values()), parsed.sobject, specs, org, org.schemas
            )
            rows = [r for r in every if matches(parsed.where, r, specs)]
            order(rows, parsed, specs)
            if parsed.limit is not None:
                rows = rows[: parsed.limit]
            names = [specs[f.casefold()].name for f in parsed.fields]
            projected = [self._project(parsed.sobject, r, names, version) for r in rows]
            batch = _batch_size(headers.get(facts.QUERY_OPTIONS_HEADER))
            cursor = Cursor(projected, batch, org.clock())
            return self._page(cursor, 0, version)

    def query_more(self, rest: str, version: str) -> dict[str, Any]:
        """The next batch of a query (``/query/<locator>-<offset>``)."""
        match = _LOCATOR.match(rest)
        assert match is not None
        org = self.org
        with org.lock:
            cursor = org.cursors.get(match.group(1))
            now = org.clock()
            if cursor is None or now - cursor.touched > facts.QUERY_LOCATOR_TTL:
                message = "invalid query locator"
                raise fail(400, facts.INVALID_QUERY_LOCATOR, message)
            cursor.touched = now
            return self._page(cursor, int(match.group(2)), version, match.group(1))

    def _page(
        self, cursor: Cursor, offset: int, version: str, locator: str | None = None
    ) -> dict[str, Any]:
        org = self.org
        end = offset + cursor.batch
        page: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
        if not page["done"]:
            if locator is None:
                locator = org.ids.new(facts.QUERY_LOCATOR_PREFIX)
                org.cursors[locator] = cursor
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        page["records"] = cursor.rows[offset:end]
        return page

    def _project(self, sobject: str, row: dict[str, Any], names: list[str], version: str) -> Any:
        url = f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}"
        org = self.org
        return {
            "attributes": {"type": sobject, "url": url},
            **{name: wire(row.get(name)) for name in names if "." not in name},
            **nested(row, names, sobject, org, org.schemas, version),
        }

    # ---- deleted ---------------------------------------------------------------------------

    def deleted(self, sobject: str, query: dict[str, str]) -> dict[str, Any]:
        """``sobjects/<object>/deleted/?start=&end=``: deletions within the window."""
        start, end = _when(query.get("start"), "start"), _when(query.get("end"), "end")
        org = self.org
        with org.lock:
            now = org.clock()
            earliest_allowed = now - timedelta(days=facts.DELETED_MAX_DAYS_BACK)
            if start < earliest_allowed.replace(hour=0, minute=0, second=0, microsecond=0):
                message = f"startDate cannot be more than {facts.DELETED_MAX_DAYS_BACK} days ago"
                raise fail(400, facts.INVALID_REPLICATION_DATE, message)
            if end <= start:
                raise fail(400, facts.INVALID_REPLICATION_DATE, "endDate must be after startDate")
            org.deleted = [d for d in org.deleted if d[2] >= earliest_allowed]
            kept = [d for d in org.deleted if d[0] == sobject]
            records = [
                {"id": d[1], "deletedDate": sf_datetime(d[2])} for d in kept if start <= d[2] < end
            ]
            earliest = min((d[2] for d in kept), default=earliest_allowed)
            return {
                "deletedRecords": records,
                "earliestDateAvailable": sf_datetime(earliest),
                "latestDateCovered": sf_datetime(min(end, now)),
            }


def _when(text: str | None, name: str) -> datetime:
    if not text:
        raise fail(400, "MISSING_ARGUMENT", f"{name} was not specified")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise fail(400, "INVALID_DATE_FORMAT", f"{name}: {text} is not a dateTime") from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _batch_size(header: str | None) -> int:
    for part in (header or "").split(","):
        name, _, value = part.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(facts.QUERY_BATCH_MIN, min(facts.QUERY_BATCH_MAX, int(value)))
    return facts.QUERY_BATCH_MAX
