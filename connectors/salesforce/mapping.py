"""The Salesforce part of a mapping: its YAML shape, its routing targets and the requests."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import Field, StringConstraints, model_validator

from baton.connectors.salesforce import facts
from baton.core.catalog import Catalog
from baton.core.mapping.compiler import CompiledMapping
from baton.core.mapping.render import TicketDraft
from baton.core.mapping.spec import MappingBase, Name, RoutingBase, RuleBase, TargetBase
from baton.core.mapping.targets import Report, Target, unknown
from baton.core.mapping.wire import JSON, PlannedRequest


class SalesforceTarget(TargetBase):
    """Where a Salesforce case goes: a queue or a user (both become OwnerId)."""

    queue: Name | None = None
    owner: Name | None = Field(default=None, description="User name or email.")

    @model_validator(mode="after")
    def _one_owner(self) -> SalesforceTarget:
        if (self.queue is None) == (self.owner is None):
            raise ValueError("name exactly one of queue or owner: both become the case's OwnerId")
        return self


class SalesforceRule(SalesforceTarget, RuleBase):
    """A Salesforce routing rule."""


class SalesforceRouting(RoutingBase):
    """Salesforce routing: rules, first match wins; `default` when none matches."""

    rules: list[SalesforceRule] = Field(default_factory=list)
    default: SalesforceTarget
    backup: SalesforceTarget | None = None


class SalesforceMapping(MappingBase):
    """A mapping to Salesforce cases."""

    platform: Literal["salesforce"]
    api_version: Annotated[str, StringConstraints(pattern=r"^[0-9]{2,3}\.0$")] = (
        facts.DEFAULT_API_VERSION
    )
    external_id_field: Name = Field(
        description="An External ID + Unique text field on Case holding the handoff id."
    )
    routing: SalesforceRouting
    csat_field: Name | None = Field(
        default=None,
        description="A Case field holding satisfaction (a number or picklist), read into "
        "dispositions normalized to 0..1.",
    )
    csat_scale: float = Field(
        default=5.0,
        gt=0,
        description="The CSAT field's best value: on a scale above 1, 1 is the worst (0) and "
        "this the best (1); a scale of 1 reads the field as 0..1.",
    )


def salesforce_target(spec: Any, path: list[str | int], catalog: Catalog, report: Report) -> Target:
    """queue or owner → OwnerId."""
    if spec.queue is not None:
        queue = catalog.group(spec.queue)
        if queue is None:
            report([*path, "queue"], unknown("queue", spec.queue, [q.name for q in catalog.groups]))
            return Target()
        return Target({"OwnerId": str(queue.id)}, f"queue {queue.name}")
    user = catalog.user(spec.owner)
    if user is None:
        report([*path, "owner"], unknown("user", spec.owner, [u.name for u in catalog.users]))
        return Target()
    return Target({"OwnerId": str(user.id)}, f"user {user.name}")


def salesforce_requests(draft: TicketDraft, mapping: CompiledMapping) -> list[PlannedRequest]:
    """An upsert on the external-id field, then the internal note as a private CaseComment."""
    spec = mapping.spec
    assert isinstance(spec, SalesforceMapping)
    base = f"/services/data/v{spec.api_version}/sobjects"
    case: dict[str, Any] = {
        "Subject": draft.subject[: facts.SUBJECT_MAX_CHARS],
        "Priority": draft.priority,
        **draft.target.fields,
        **{str(key): value for key, value in draft.fields.items()},
    }
    if draft.description:
        case["Description"] = draft.description[: facts.DESCRIPTION_MAX_CHARS]
    who = draft.requester or draft.fallback_requester
    if who is not None:
        supplied = (
            ("SuppliedName", who.name and who.name[: facts.SUPPLIED_NAME_MAX_CHARS]),
            ("SuppliedEmail", who.email),
            ("SuppliedPhone", who.phone and who.phone[: facts.SUPPLIED_PHONE_MAX_CHARS]),
        )
        case.update({key: value for key, value in supplied if value})
    headers = {"Content-Type": JSON}
    if "OwnerId" in case:
        headers[facts.AUTO_ASSIGN_HEADER] = "FALSE"  # else assignment rules may overwrite OwnerId
    upsert_path = f"{base}/Case/{spec.external_id_field}/{quote(draft.handoff_id, safe='')}"
    comment = {"ParentId": "@{case.id}", "CommentBody": draft.note, "IsPublished": False}
    return [
        PlannedRequest("PATCH", upsert_path, headers, case, "case", "Bearer"),
        PlannedRequest(
            "POST", f"{base}/CaseComment", {"Content-Type": JSON}, comment, None, "Bearer"
        ),
    ]


def composite_request(requests: list[PlannedRequest], api_version: str) -> PlannedRequest:
    """The planned requests as ONE ``/composite`` call, ``allOrNone``: the case upsert (its
    ``referenceId`` is its ref, ``case``) and the CaseComment whose ``ParentId`` is
    ``@{case.id}``. Subrequest headers keep ``Sforce-Auto-Assign``; Content-Type is the top
    level's (a subrequest may not set it)."""
    subrequests: list[dict[str, Any]] = []
    for index, planned in enumerate(requests):
        sub: dict[str, Any] = {
            "method": planned.method,
            "url": planned.path,
            "referenceId": planned.ref or f"request{index}",
            "body": planned.json,
        }
        headers = {k: v for k, v in planned.headers.items() if k.casefold() != "content-type"}
        if headers:
            sub["httpHeaders"] = headers
        subrequests.append(sub)
    top = {"Content-Type": JSON}
    if any(facts.AUTO_ASSIGN_HEADER in planned.headers for planned in requests):
        top[facts.AUTO_ASSIGN_HEADER] = "FALSE"
    path = facts.COMPOSITE_PATH.format(version=api_version)
    body = {"allOrNone": True, "compositeRequest": subrequests}
    return PlannedRequest("POST", path, top, body, "composite", "Bearer")


def insert_request(
    upsert: PlannedRequest, external_id_field: str, handoff_id: str, api_version: str
) -> PlannedRequest:
    """The case upsert as a plain insert carrying the external id: a first attempt's form,
    which the field's uniqueness refuses when a case already carries the id."""
    path = f"/services/data/v{api_version}/sobjects/Case"
    return replace(
        upsert, method="POST", path=path, json={**upsert.json, external_id_field: handoff_id}
    )


def duplicate_of(body: Any, external_id_field: str) -> bool:
    """Whether an error body says another record already holds this external id
    (``DUPLICATE_VALUE`` on the field)."""
    entries = body if isinstance(body, list) else []
    return any(
        isinstance(e, dict)
        and e.get("errorCode") == facts.DUPLICATE_VALUE
        and external_id_field in (e.get("fields") or [external_id_field])
        for e in entries
    )
