"""``/composite`` (up to 25 subrequests with ``@{ref.field}`` references and ``allOrNone``) and
sObject Collections (``/composite/sobjects``: create up to 200 records, or upsert them on an
external id), run through the same dispatcher as single requests."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.cases import auto_assign
from baton.sandbox.salesforce.errors import SalesforceError, fail, refused

if TYPE_CHECKING:
    from baton.sandbox.salesforce.api import RestApi

_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


class _Unresolved(Exception):
    """A reference to a subrequest that has no such value."""


def composite(api: RestApi, body: Any, headers: Mapping[str, str], version: str) -> Any:
    """Run a ``/composite`` request; its ``compositeResponse``."""
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise fail(400, facts.JSON_PARSER_ERROR, "compositeRequest is required")
    if len(subrequests) > facts.COMPOSITE_MAX_SUBREQUESTS:
        raise refused(facts.TOO_MANY_SUBREQUESTS)
    all_or_none = bool(body.get("allOrNone", False))
    org = api.org
    with org.lock:
        snapshot = org.snapshot() if all_or_none else None
        bodies: dict[str, Any] = {}
        answers: list[dict[str, Any]] = []
        failed_at: int | None = None
        for index, sub in enumerate(subrequests):
            answer = _subrequest(api, sub, bodies, headers)
            answers.append(answer)
            if answer["httpStatusCode"] < 300 and answer["referenceId"]:
                bodies[answer["referenceId"]] = answer["body"]
            if answer["httpStatusCode"] >= 400 and all_or_none:
                failed_at = index
                break
        if failed_at is None:
            return {"compositeResponse": answers}
        assert snapshot is not None
        org.restore(snapshot)
        halted = [dict(facts.PROCESSING_HALTED)]
        result = []
        for index, sub in enumerate(subrequests):
            if index == failed_at:
                result.append(answers[index])
            else:
                ref = sub.get("referenceId") if isinstance(sub, dict) else None
                result.append(
                    {"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref}
                )
        return {"compositeResponse": result}


def _subrequest(
    api: RestApi, sub: Any, bodies: dict[str, Any], headers: Mapping[str, str]
) -> dict[str, Any]:
    ref = sub.get("referenceId") if isinstance(sub, dict) else None
    try:
        if not isinstance(sub, dict) or sub.get("method") not in _METHODS or not sub.get("url"):
            raise fail(400, facts.JSON_PARSER_ERROR, "each subrequest needs method and url")
        url = _resolve(str(sub["url"]), bodies)
        payload = _resolve(sub.get("body"), bodies)
        merged = {**dict(headers), **(sub.get("httpHeaders") or {})}
        answer = api.handle(str(sub["method"]), url, merged, payload)
    except _Unresolved as exc:
        body = [
            {
                "errorCode": "PROCESSING_HALTED",
                "message": f"Invalid reference specified. "
                f"No value for {exc} found. Provided referenceId ('{ref}')",
            }
        ]
        return {"body": body, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref}
    except SalesforceError as exc:
        return {
            "body": exc.body,
            "httpHeaders": {},
            "httpStatusCode": exc.status,
            "referenceId": ref,
        }
    out_headers = dict(answer.headers)
    if answer.status == 201 and isinstance(answer.body, dict) and "id" in answer.body:
        path = str(sub["url"]).split("?")[0].rstrip("/")
        base = path if path.split("/")[-2] == "sobjects" else "/".join(path.split("/")[:-2])
        out_headers["Location"] = f"{base}/{answer.body['id']}"
    return {
        "body": answer.body,
        "httpHeaders": out_headers,
        "httpStatusCode": answer.status,
        "referenceId": ref,
    }


def _resolve(value: Any, bodies: dict[str, Any]) -> Any:
    """``value`` with every ``@{ref.path}`` replaced by what that subrequest answered."""
    if isinstance(value, dict):
        return {k: _resolve(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, bodies) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        return _lookup(whole, bodies)
    return _REFERENCE.sub(lambda m: str(_lookup(m, bodies)), value)


def _lookup(match: re.Match[str], bodies: dict[str, Any]) -> Any:
    name, path = match.group(1), match.group(2)
    if name not in bodies:
        raise _Unresolved(f"{name}{path}")
    current = bodies[name]
    for step in _STEP.finditer(path):
        try:
            current = current[step.group(1)] if step.group(1) else current[int(step.group(2))]
        except (KeyError, IndexError, TypeError):
            raise _Unresolved(f"{name}{path}") from None
    return current


# ---- sObject Collections -----------------------------------------------------------------


def collection(
    api: RestApi,
    method: str,
    segments: list[str],
    body: Any,
    headers: Mapping[str, str],
    version: str,
) -> Any:
    """``POST /composite/sobjects`` (create) or ``PATCH /composite/sobjects/<obj>/<field>``
    (upsert): one result per record, in order."""
    upsert = method == "PATCH" and len(segments) == 2
    if not (upsert or (method == "POST" and not segments)):
        raise SalesforceError(404, [dict(facts.NOT_FOUND)])
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise fail(400, facts.JSON_PARSER_ERROR, "records is required")
    if len(records) > facts.COLLECTION_MAX_RECORDS:
        raise refused(facts.TOO_MANY_RECORDS)
    org = api.org
    assign = auto_assign(headers.get(facts.AUTO_ASSIGN_HEADER))
    with org.lock:
        if upsert:
            org.check_external_id_field(segments[0], segments[1])
        snapshot = org.snapshot()
        results = [_one(api, record, segments, upsert, assign, version) for record in records]
        if bool(body.get("allOrNone", False)) and not all(r["success"] for r in results):
            org.restore(snapshot)
            return [
                r if not r["success"] else {"success": False, "errors": [dict(facts.ROLLED_BACK)]}
                for r in results
            ]
        return results


def _one(
    api: RestApi, record: Any, segments: list[str], upsert: bool, assign: bool, version: str
) -> dict[str, Any]:
    org = api.org
    try:
        attributes = record.get("attributes") if isinstance(record, dict) else None
        kind = attributes.get("type") if isinstance(attributes, dict) else None
        if not kind:
            raise fail(400, "INVALID_TYPE", "Must send a concrete entity type.")
        if upsert and kind != segments[0]:
            raise fail(400, "INVALID_TYPE", f"The record type {kind} is not {segments[0]}")
        data = {k: v for k, v in record.items() if k != "attributes"}
        if not upsert:
            if kind == "Case":
                return org.create_case(data, assign)
            if kind == "CaseComment":
                return org.create_comment(data)
            raise fail(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.")
        field_name = segments[1]
        value = next((v for k, v in data.items() if k.casefold() == field_name.casefold()), None)
        if not isinstance(value, str) or not value:
            message = f"Required fields are missing: [{field_name}]"
            raise fail(400, facts.REQUIRED_FIELD_MISSING, message, [field_name])
        rest = {k: v for k, v in data.items() if k.casefold() != field_name.casefold()}
        status, answer = org.upsert_case(field_name, value, rest, assign, version)
        if status == 300:
            message = f"Duplicate external id specified: {value}"
            raise fail(300, facts.DUPLICATE_EXTERNAL_ID, message, [field_name])
        if isinstance(answer, dict):
            return answer
        return {"id": None, "success": True, "errors": [], "created": status == 201}
    except SalesforceError as exc:
        first = exc.first
        error = {
            "statusCode": first.get("errorCode"),
            "message": first.get("message"),
            "fields": first.get("fields", []),
        }
        return {"success": False, "errors": [error]}


def dumps(value: Any) -> bytes:
    """JSON as Salesforce writes it (compact UTF-8)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
