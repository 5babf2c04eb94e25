"""``POST /crm/v3/objects/{object}/search``: filterGroups (OR of ANDs), one sort, ``after`` and
``limit`` paging, the 10,000-result cap; archived and merged-away records never match."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from baton.sandbox.hubspot import facts
from baton.sandbox.hubspot.crm import Crm, PropertyDef, Record, parse_time
from baton.sandbox.hubspot.errors import fail

Json = dict[str, Any]


def _bad(message: str) -> Exception:
    return fail(400, facts.VALIDATION_ERROR, message)


def _key(prop: PropertyDef | None, value: str | None) -> tuple[int, Any]:
    """A comparable key: numbers and dates as numbers, text lowercased."""
    if value is None:
        return (0, "")
    kind = prop.type if prop is not None else "string"
    if kind in ("datetime", "date"):
        when = parse_time(value)
        if when is not None:
            return (1, when.timestamp())
    if kind == "number" or (prop is not None and prop.name == "hs_object_id"):
        try:
            return (1, float(value))
        except ValueError:
            pass
    return (2, value.lower())


def _filter_value(prop: PropertyDef | None, raw: Any, name: str) -> tuple[int, Any]:
    if raw is None:
        raise _bad(f"value is required for a filter on {name}")
    text = "true" if raw is True else "false" if raw is False else str(raw)
    if prop is not None and prop.type in ("datetime", "date"):
        when: datetime | None = parse_time(text)
        if when is None:
            raise _bad(f"{text} is not a valid date-time for {name} (epoch ms or ISO-8601)")
        return (1, when.timestamp())
    return _key(prop, text)


def _matches(record: Record, spec: Json, schema: dict[str, PropertyDef]) -> bool:
    name = spec.get("propertyName")
    operator = str(spec.get("operator", "EQ")).upper()
    if not isinstance(name, str) or operator not in facts.SEARCH_OPERATORS:
        raise _bad(f"Invalid filter: operator {operator} on {name}")
    prop = schema.get(name)
    value = record.properties.get(name)
    if operator == "HAS_PROPERTY":
        return value is not None
    if operator == "NOT_HAS_PROPERTY":
        return value is None
    if operator in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list):
            raise _bad(f"values is required for {operator} on {name}")
        keys = {_filter_value(prop, v, name) for v in values}
        inside = value is not None and _key(prop, value) in keys
        return inside if operator == "IN" else not inside
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(spec.get("value", "")).lower().strip("*")
        has = value is not None and token in value.lower()
        return has if operator == "CONTAINS_TOKEN" else not has
    wanted = _filter_value(prop, spec.get("value"), name)
    if operator == "NEQ":
        return value is None or _key(prop, value) != wanted
    if value is None:
        return False
    have = _key(prop, value)
    if have[0] != wanted[0]:
        return False
    if operator == "BETWEEN":
        high = _filter_value(prop, spec.get("highValue"), name)
        return bool(wanted <= have <= high)
    return bool(
        {
            "EQ": have == wanted,
            "LT": have < wanted,
            "LTE": have <= wanted,
            "GT": have > wanted,
            "GTE": have >= wanted,
        }[operator]
    )


def _sort(body: Json) -> tuple[str, bool]:
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list):
        raise _bad("sorts must be a list")
    if len(sorts) > facts.SEARCH_MAX_SORTS:
        raise _bad(facts.SEARCH_SORTS_MESSAGE)
    if not sorts:
        return "hs_object_id", False
    rule = sorts[0]
    if isinstance(rule, str):  # the SDK's list[str]: "prop" or "-prop"
        return rule.lstrip("-"), rule.startswith("-")
    if isinstance(rule, dict) and isinstance(rule.get("propertyName"), str):
        direction = str(rule.get("direction", "ASCENDING")).upper()
        return rule["propertyName"], direction == "DESCENDING"
    raise _bad("each sort needs a propertyName")


def search(crm: Crm, object_type: str, body: Json | None, defaults: tuple[str, ...]) -> Json:
    """The search answer ``{total, results, paging?}``; 400 VALIDATION_ERROR for a bad
    request, a limit over 200 or a page past 10,000 results."""
    body = body or {}
    if not isinstance(body, dict):
        raise _bad("Invalid input JSON")
    limit = body.get("limit", facts.SEARCH_DEFAULT_LIMIT)
    if not isinstance(limit, int) or limit < 0:
        raise _bad("limit must be a non-negative integer")
    if limit > facts.SEARCH_MAX_LIMIT:
        raise _bad(facts.SEARCH_LIMIT_MESSAGE)
    after_raw = body.get("after") or "0"
    if not str(after_raw).isdigit():
        raise _bad(f"after must be a number: {after_raw}")
    after = int(str(after_raw))
    if after + limit > facts.SEARCH_MAX_RESULTS:
        raise _bad(facts.SEARCH_PAST_CAP_MESSAGE)
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list) or len(groups) > facts.SEARCH_MAX_GROUPS:
        raise _bad(f"at most {facts.SEARCH_MAX_GROUPS} filterGroups are allowed")
    count = 0
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > facts.SEARCH_MAX_FILTERS_PER_GROUP:
            raise _bad(f"each filterGroup takes 1 to {facts.SEARCH_MAX_FILTERS_PER_GROUP} filters")
        count += len(filters)
    if count > facts.SEARCH_MAX_FILTERS:
        raise _bad(f"at most {facts.SEARCH_MAX_FILTERS} filters are allowed")
    names = body.get("properties")
    wanted = list(
        dict.fromkeys(
            [*(names if isinstance(names, list) and names else defaults), *facts.ALWAYS_RETURNED]
        )
    )
    sort_name, descending = _sort(body)
    query = str(body.get("query") or "").lower()
    with crm.lock:
        schema = crm.properties[object_type]
        sort_prop = schema.get(sort_name)
        matched = [
            r
            for r in crm.records[object_type].values()
            if not r.archived
            and r.merged_into is None
            and (
                not groups or any(all(_matches(r, f, schema) for f in g["filters"]) for g in groups)
            )
            and (not query or any(query in (v or "").lower() for v in r.properties.values()))
        ]
        matched.sort(key=lambda r: int(r.id))
        matched.sort(key=lambda r: _key(sort_prop, r.properties.get(sort_name)), reverse=descending)
        page = matched[after : after + limit]
        answer: Json = {"total": len(matched), "results": [r.describe(wanted) for r in page]}
    following = after + len(page)
    if page and following < len(matched):
        answer["paging"] = {"next": {"after": str(following)}}
    return answer
