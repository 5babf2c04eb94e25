"""Error answers in Salesforce's own shapes, raised by the org and answered by the routes."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


class SalesforceError(Exception):
    """A REST error: ``status`` with Salesforce's error array ``[{message, errorCode, fields}]``
    (or, for the OAuth endpoint, an object ``{error, error_description}``)."""

    def __init__(self, status: int, body: list[Json] | Json) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body

    @property
    def first(self) -> Json:
        """The first error of the array (the object itself for OAuth errors)."""
        return self.body[0] if isinstance(self.body, list) else self.body


def fail(status: int, code: str, message: str, fields: list[str] | None = None) -> SalesforceError:
    """One error ``{message, errorCode, fields}`` (``fields`` left out when None)."""
    entry: Json = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return SalesforceError(status, [entry])


def refused(body: Json, status: int = 400) -> SalesforceError:
    """An error whose single entry is ``body`` as facts.py has it."""
    return SalesforceError(status, [dict(body)])
