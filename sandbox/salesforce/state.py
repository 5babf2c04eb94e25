"""``SalesforceState``: the org, its Outbound Messages, and what its agents do in the UI."""

from __future__ import annotations

import copy
from typing import Any

from baton.core.catalog import Catalog
from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.cases import CaseDesk
from baton.sandbox.salesforce.errors import SalesforceError
from baton.sandbox.salesforce.org import DEFAULT_API_VERSION
from baton.sandbox.salesforce.outbound import OutboundDispatcher

Json = dict[str, Any]
CSAT_FIELD = "Baton_CSAT__c"


class SalesforceState(CaseDesk):
    """The in-memory org behind the sandbox (thread-safe, one lock)."""

    def __init__(self, catalog: Catalog | None = None, **options: Any) -> None:
        super().__init__(catalog, **options)
        self.api_version = DEFAULT_API_VERSION
        self.outbound = OutboundDispatcher(
            self._case_values,
            self._outbound_head,
            lambda: self.ids.new(facts.NOTIFICATION_PREFIX),
            self.time_factor,
        )
        self.outbound.config.action_id = self.ids.new(facts.OUTBOUND_ACTION_PREFIX)

    def commit(self) -> None:
        """Send the Outbound Messages of the changes the finished request made."""
        self.outbound.notify(self.take_changes())

    def _case_values(self, case_id: str) -> Json | None:
        with self.lock:
            case = self.record("Case", case_id)
            return None if case is None else copy.copy(case)

    def _outbound_head(self, send_session: bool) -> Json:
        org15 = self.organization_id[:15]
        soap = f"{self.instance_url}/services/Soap"
        return {
            "OrganizationId": self.organization_id,
            "SessionId": self.open_session(self.api_user) if send_session else None,
            "EnterpriseUrl": f"{soap}/c/{self.api_version}/{org15}",
            "PartnerUrl": f"{soap}/u/{self.api_version}/{org15}",
        }

    # ---- agents' actions (as in the UI: no assignment rules, no API usage) ------------------

    def _agent(self, case_id: str, values: Json) -> Json:
        with self.lock:
            self.update_case(case_id, values, assign=False)
            self.commit()
            case = self.record("Case", case_id)
            assert case is not None
            return case

    def comment(
        self, case_id: str, body: str, public: bool = True, author: str | None = None
    ) -> Json:
        """A CaseComment (public unless ``public`` is False) by ``author`` (a user's name,
        email, username or id: an agent, or a portal customer), else by the case's owner when
        a user owns it, else by the integration user; KeyError for an unknown author."""
        with self.lock:
            case = self._case(case_id)
            owner = str(case["OwnerId"])
            if author is not None:
                author = self.user_by_name(author)
            elif self.record("User", owner) is not None:
                author = owner
            else:
                author = self.api_user
            self.create_comment(
                {"ParentId": case["Id"], "CommentBody": body, "IsPublished": public}, author
            )
            self.commit()
            return case

    def transfer(self, case_id: str, owner_id: str) -> Json:
        """Change the case's owner to a queue or user id (a transfer)."""
        return self._agent(case_id, {"OwnerId": owner_id})

    def set_status(self, case_id: str, status: str) -> Json:
        """Set the case's Status (a closed one sets IsClosed and ClosedDate)."""
        return self._agent(case_id, {"Status": status})

    def reopen(self, case_id: str) -> Json:
        """Reopen: the first open Status after the first (Working, by default)."""
        spec = self.case_fields["Status"]
        open_values = [v for v in spec.picklist if v not in spec.closed_values]
        status = open_values[1] if len(open_values) > 1 else open_values[0]
        return self._agent(case_id, {"Status": status})

    def rate(self, case_id: str, score: float, field_name: str = CSAT_FIELD) -> Json:
        """Set the CSAT field (a custom field: Salesforce has no standard one)."""
        if field_name not in self.case_fields:
            raise SalesforceError(
                400,
                [
                    {
                        "errorCode": facts.INVALID_FIELD,
                        "message": f"No such field {field_name} on Case",
                    }
                ],
            )
        return self._agent(case_id, {field_name: score})

    def delete(self, case_id: str) -> None:
        """Delete the case (it shows in ``sobjects/Case/deleted``)."""
        with self.lock:
            self.delete_case(case_id)
            self.commit()
