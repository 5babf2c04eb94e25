"""Writes to Case and CaseComment as Salesforce checks them: field names, read-only fields,
lengths, restricted picklists, owners, the unique external id, assignment rules, IsClosed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.errors import SalesforceError, fail
from baton.sandbox.salesforce.ids import is_id, key
from baton.sandbox.salesforce.org import Org
from baton.sandbox.salesforce.schema import FieldSpec

Json = dict[str, Any]
_TEXT = ("string", "textarea", "email", "phone")


def auto_assign(header: str | None) -> bool:
    """Whether a request's ``Sforce-Auto-Assign`` runs the assignment rules (default TRUE)."""
    return (header or "TRUE").strip().upper() != "FALSE"


class CaseDesk(Org):
    """Case and CaseComment writes and reads on top of the org's records."""

    # ---- checks ----------------------------------------------------------------------------

    def _clean(self, sobject: str, data: Any, creating: bool) -> Json:
        """``data`` with canonical field names, every value checked; 400 on the first problem."""
        if not isinstance(data, dict):
            raise fail(400, facts.JSON_PARSER_ERROR, "Expected a JSON object for the record")
        specs = self.schemas[sobject]
        by_folded = {name.casefold(): spec for name, spec in specs.items()}
        clean: Json = {}
        for raw_name, value in data.items():
            if raw_name == "attributes":
                continue
            spec = by_folded.get(str(raw_name).casefold())
            if spec is None:
                message = facts.INVALID_FIELD_MESSAGE.format(field=raw_name, sobject=sobject)
                raise fail(400, facts.INVALID_FIELD, message, [str(raw_name)])
            if not (spec.createable if creating else spec.updateable):
                message = facts.READ_ONLY_MESSAGE.format(field=spec.name)
                raise fail(400, facts.READ_ONLY_FIELD, message, [spec.name])
            clean[spec.name] = self._value(spec, value)
        return clean

    def _value(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            if not spec.nillable:
                message = f"Required fields are missing: [{spec.name}]"
                raise fail(400, facts.REQUIRED_FIELD_MISSING, message, [spec.name])
            return None
        if spec.type == "boolean":
            if not isinstance(value, bool):
                raise fail(400, facts.JSON_PARSER_ERROR, f"Cannot deserialize {spec.name}")
            return value
        if spec.type == "double":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(400, facts.JSON_PARSER_ERROR, f"Cannot deserialize {spec.name}")
            return float(value)
        if not isinstance(value, str):
            raise fail(400, facts.JSON_PARSER_ERROR, f"Cannot deserialize {spec.name}")
        if spec.type == "picklist" and spec.restricted and value not in spec.picklist:
            message = facts.RESTRICTED_PICKLIST_MESSAGE.format(field=spec.label, value=value)
            raise fail(400, facts.RESTRICTED_PICKLIST, message, [spec.name])
        if spec.type == "reference":
            return self._reference(spec, value)
        size = len(value.encode("utf-8")) if spec.name == "CommentBody" else len(value)
        if spec.type in (*_TEXT, "picklist") and spec.length and size > spec.length:
            shown = value if len(value) <= 40 else value[:37] + "..."
            message = facts.STRING_TOO_LONG_MESSAGE.format(
                label=spec.label, value=shown, limit=spec.length
            )
            raise fail(400, facts.STRING_TOO_LONG, message, [spec.name])
        return value

    def _reference(self, spec: FieldSpec, value: str) -> str:
        if not is_id(value):
            message = f"{spec.label}: id value of incorrect type: {value}"
            raise fail(400, facts.MALFORMED_ID, message, [spec.name])
        for target in spec.reference_to:
            found = self.record(target, value)
            if found is not None:
                return str(found["Id"])
        message = f"{spec.label}: id value of incorrect type: {value}"
        code = facts.INVALID_CROSS_REFERENCE_KEY
        raise fail(400, code, message, [spec.name])

    def _check_unique(self, values: Json, own_id: str | None) -> None:
        field_name = self.external_id_field
        wanted = values.get(field_name)
        if wanted is None or not self.external_id_unique:
            return
        for case in self.records["Case"].values():
            if case.get(field_name) == wanted and case["Id"] != own_id:
                message = facts.DUPLICATE_VALUE_MESSAGE.format(field=field_name, id=case["Id"])
                raise fail(400, facts.DUPLICATE_VALUE, message, [field_name])

    # ---- Case ------------------------------------------------------------------------------

    def create_case(self, data: Any, assign: bool = True) -> Json:
        """Insert a Case; the SaveResult ``{id, success, errors}``."""
        with self.lock:
            values = self._clean("Case", data, creating=True)
            self._check_unique(values, None)
            now = self.clock()
            self.case_numbers += 1
            case_id = self.ids.new(facts.CASE_PREFIX)
            status = self.case_fields["Status"].picklist if "Status" in self.case_fields else []
            priorities = self.case_fields.get("Priority")
            case: Json = dict.fromkeys(self.case_fields)
            case.update(
                Id=case_id,
                IsDeleted=False,
                CaseNumber=f"{self.case_numbers:08d}",
                CreatedDate=now,
                CreatedById=self.api_user,
                IsEscalated=False,
                Status=status[0] if status else None,
                OwnerId=self.api_user,
                Priority="Medium" if priorities and "Medium" in priorities.picklist else None,
            )
            case.update(values)
            if assign and self.assignment_owner is not None:
                case["OwnerId"] = self.assignment_owner
            self._closed(case, now)
            self._touch(case, now)
            self.records["Case"][key(case_id)] = case
            self._history(case_id, facts.HISTORY_CREATED, None, None, now)
            self.pending_changes.append(case_id)
            return {"id": case_id, "success": True, "errors": []}

    def update_case(self, case_id: str, data: Any, assign: bool = True) -> None:
        """Update a Case (PATCH answers 204)."""
        with self.lock:
            case = self._case(case_id)
            values = self._clean("Case", data, creating=False)
            self._check_unique(values, case["Id"])
            before = {name: case.get(name) for name in ("Status", "OwnerId")}
            case.update(values)
            if assign and self.assignment_owner is not None:
                case["OwnerId"] = self.assignment_owner
            now = self.clock()
            self._closed(case, now)
            self._touch(case, now)
            self._track(case, before, now)
            self.pending_changes.append(case["Id"])

    def upsert_case(
        self, field_name: str, value: str, data: Any, assign: bool, version: str
    ) -> tuple[int, Any]:
        """Upsert on an external id: 201 created, 200/204 updated, 300 several matches."""
        with self.lock:
            spec = self.check_external_id_field("Case", field_name)
            if isinstance(data, dict) and any(k.casefold() == spec.name.casefold() for k in data):
                message = f"{spec.name} is the external id of the URL: leave it out of the body"
                raise fail(400, facts.INVALID_FIELD, message, [spec.name])
            matches = [c for c in self.records["Case"].values() if c.get(spec.name) == value]
            if len(matches) > 1:
                return 300, [f"/services/data/v{version}/sobjects/Case/{c['Id']}" for c in matches]
            since_46 = float(version) >= facts.UPSERT_CREATED_SINCE
            if not matches:
                result = self.create_case({**(data or {}), spec.name: value}, assign)
                return 201, {**result, "created": True} if since_46 else result
            self.update_case(matches[0]["Id"], data, assign)
            if not since_46:
                return facts.UPSERT_UPDATED_STATUS_BEFORE_46, None
            body = {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
            return facts.UPSERT_UPDATED_STATUS, body

    def delete_case(self, case_id: str) -> None:
        """Delete a Case and its comments (to the delete log)."""
        with self.lock:
            case = self._case(case_id)
            now = self.clock()
            del self.records["Case"][key(case["Id"])]
            self.deleted.append(("Case", str(case["Id"]), now))
            for comment_key, comment in list(self.records["CaseComment"].items()):
                if comment["ParentId"] == case["Id"]:
                    del self.records["CaseComment"][comment_key]
            for row_key, row in list(self.records["CaseHistory"].items()):
                if row["CaseId"] == case["Id"]:
                    del self.records["CaseHistory"][row_key]

    def _case(self, case_id: str) -> Json:
        case = self.record("Case", case_id) if is_id(case_id) else None
        if case is None:
            raise SalesforceError(404, [dict(facts.NOT_FOUND)])
        return case

    def _closed(self, case: Json, now: datetime) -> None:
        closed = case.get("Status") in self.case_fields["Status"].closed_values
        if closed and not case.get("IsClosed"):
            case["ClosedDate"] = now
        if not closed:
            case["ClosedDate"] = None
        case["IsClosed"] = closed

    def _touch(self, record: Json, now: datetime) -> None:
        record["LastModifiedDate"] = now
        record["SystemModstamp"] = now
        record["LastModifiedById"] = self.api_user

    # ---- CaseHistory (Field History Tracking) ----------------------------------------------

    def _track(self, case: Json, before: Json, now: datetime) -> None:
        """CaseHistory rows for the tracked fields a write changed: Status one row, OwnerId
        two under Field 'Owner' (the ids, then the names)."""
        if before["Status"] != case.get("Status"):
            self._history(case["Id"], "Status", before["Status"], case.get("Status"), now)
        old, new = before["OwnerId"], case.get("OwnerId")
        if old is not None and new is not None and old[:15] != str(new)[:15]:
            owner = facts.HISTORY_OWNER
            self._history(case["Id"], owner, old, new, now, facts.HISTORY_ID_TYPE)
            names = self._owner_name(old), self._owner_name(new)
            self._history(case["Id"], owner, *names, now, facts.HISTORY_NAME_TYPE)

    def _owner_name(self, owner_id: str) -> str:
        found = self.record("Group", owner_id) or self.record("User", owner_id)
        return str(found["Name"]) if found is not None else owner_id

    def _history(
        self,
        case_id: str,
        field_name: str,
        old: Any,
        new: Any,
        now: datetime,
        data_type: str | None = None,
    ) -> None:
        created = field_name == facts.HISTORY_CREATED
        if not (field_name in self.tracked_fields or (created and self.tracked_fields)):
            return
        row_id = self.ids.new(facts.CASE_HISTORY_PREFIX)
        cut = facts.HISTORY_VALUE_MAX
        self.records["CaseHistory"][key(row_id)] = {
            "Id": row_id,
            "IsDeleted": False,
            "CaseId": case_id,
            "CreatedById": self.api_user,
            "CreatedDate": now,
            "DataType": data_type,
            "Field": field_name,
            "OldValue": None if old is None else str(old)[:cut],
            "NewValue": None if new is None else str(new)[:cut],
        }

    # ---- CaseComment -----------------------------------------------------------------------

    def create_comment(self, data: Any, author: str | None = None) -> Json:
        """Insert a CaseComment (its parent's SystemModstamp moves too)."""
        with self.lock:
            values = self._clean("CaseComment", data, creating=True)
            parent = values.get("ParentId")
            if parent is None or self.record("Case", parent) is None:
                raise fail(
                    400,
                    facts.REQUIRED_FIELD_MISSING,
                    "Required fields are missing: [ParentId]",
                    ["ParentId"],
                )
            now = self.clock()
            comment_id = self.ids.new(facts.CASE_COMMENT_PREFIX)
            comment: Json = {
                "Id": comment_id,
                "IsDeleted": False,
                "IsPublished": False,
                "CommentBody": None,
                "CreatedDate": now,
                "CreatedById": author or self.api_user,
            }
            comment.update(values)
            self._touch(comment, now)
            self.records["CaseComment"][key(comment_id)] = comment
            case = self._case(parent)
            self._touch(case, now)
            self.pending_changes.append(case["Id"])
            return {"id": comment_id, "success": True, "errors": []}

    # ---- reads -----------------------------------------------------------------------------

    def read(self, sobject: str, record_id: str, fields: list[str] | None, version: str) -> Json:
        """A record as ``GET sobjects/<object>/<id>`` shows it (``?fields=`` picks fields)."""
        from baton.sandbox.salesforce.schema import wire

        with self.lock:
            record = self.record(sobject, record_id) if is_id(record_id) else None
            if record is None:
                raise SalesforceError(404, [dict(facts.NOT_FOUND)])
            specs = self.schemas[sobject]
            folded = {name.casefold(): name for name in specs}
            names = list(specs)
            if fields:
                unknown = [f for f in fields if f.casefold() not in folded]
                if unknown:
                    message = facts.INVALID_FIELD_MESSAGE.format(field=unknown[0], sobject=sobject)
                    raise fail(400, facts.INVALID_FIELD, message)
                names = [folded[f.casefold()] for f in fields]
            url = f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"
            return {
                "attributes": {"type": sobject, "url": url},
                **{name: wire(record.get(name)) for name in names},
            }
