"""A planned HTTP request: what a plugin's request builder makes of a ticket draft.

A later request may need an id from an earlier response: it says so with Salesforce's own
composite reference syntax, ``@{<ref>.id}``, and the earlier request carries that ``ref``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request as it will be sent (less the credentials)."""

    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any]
    ref: str | None = None
    auth: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The request as preview JSON, with the credential header masked."""
        headers = dict(self.headers)
        if self.auth:
            headers = {"Authorization": f"{self.auth} ••••••", **headers}
        return {"method": self.method, "path": self.path, "headers": headers, "json": self.json}
