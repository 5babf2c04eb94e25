"""Reading the answer of a create's ``/composite`` call (allOrNone: the case upsert or insert
and its CaseComment).

The top level answers 200 and each subrequest carries its own ``httpStatusCode`` and body; the
subrequests that did not fail answer ``PROCESSING_HALTED``, so the cause is the first part that
failed otherwise. An answer without a readable case may hide a create that happened: it is
retryable, and the retry (``first_attempt=False``) finds the case.
"""

from __future__ import annotations

from typing import Any

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.http import classify_status
from baton.connectors.salesforce.mapping import duplicate_of
from baton.core.errors import RetryableError


class AlreadyCarried(Exception):
    """A first attempt's insert was refused: a case already carries the handoff id."""


def created_case(
    parts: Any, status: int, expected: int, *, insert_as: str | None, external_id_field: str
) -> tuple[str, bool]:
    """The case id in a composite answer ``parts`` (HTTP ``status``, ``expected`` subrequests)
    and whether it was created (False: an upsert updated it).

    Raises :class:`AlreadyCarried` when an insert (``insert_as``: the external id it was
    inserted with) hit a case already carrying it, the classified error of the failing part,
    or a RetryableError when the answer is not readable.
    """
    results = parts.get("compositeResponse") if isinstance(parts, dict) else None
    if not isinstance(results, list) or len(results) != expected:
        raise unreadable(status)
    failed = [p for p in results if not _succeeded(p)]
    if failed:
        causes = [p for p in failed if not _halted(p)] or failed
        cause = causes[0] if isinstance(causes[0], dict) else {}
        if insert_as is not None and duplicate_of(cause.get("body"), external_id_field):
            raise AlreadyCarried(insert_as)
        raise classify_status(_status(cause) or 400, cause.get("body"))
    case = results[0].get("body")
    case_id = case.get("id") if isinstance(case, dict) else None
    if not isinstance(case_id, str) or not case_id:
        raise unreadable(status)
    return case_id, case.get("created") is not False


def unreadable(status: int) -> RetryableError:
    """The create may have happened: a retry (first_attempt=False) will find it."""
    return RetryableError(
        "create answered without a readable case",
        platform=facts.PLATFORM,
        status=status,
        code="UnreadableResponse",
    )


def _status(part: Any) -> int:
    status = part.get("httpStatusCode") if isinstance(part, dict) else None
    return status if type(status) is int else 0


def _succeeded(part: Any) -> bool:
    return 200 <= _status(part) < 300


def _halted(part: Any) -> bool:
    body = part.get("body") if isinstance(part, dict) else None
    first = body[0] if isinstance(body, list) and body else None
    return isinstance(first, dict) and first.get("errorCode") == facts.PROCESSING_HALTED
