"""Baton's one exception tree.

    BatonError
    ├── ConfigError                 bad mapping, catalog or credentials
    │   ├── MappingError            a mapping with one or more problems, each with file and path
    │   └── NotConfigured           a platform with none of its settings: simply not enabled
    ├── ValidationError             a handoff (or other inbound document) that breaks the model
    ├── VerificationError           an inbound webhook whose authenticity could not be proven
    ├── PayloadError                signed and authentic, but unreadable
    ├── StoreUnavailable            the database cannot be reached (the service answers 503)
    └── PlatformError               a help-desk platform refused or failed a call
        ├── RetryableError          try again later (429, 5xx, timeouts); carries retry_after
        └── FatalError              retrying the same call cannot succeed (other 4xx)
            ├── AccessDenied        401/403: credentials or permissions; pause the connection
            ├── IdempotencyConflict the idempotency key matched something else; never a success
            └── TargetRefused       the platform refused the routing target (group, assignee …)

Messages say what was wrong and where. They never carry a secret or transcript text: callers
build them from field paths and short codes, not from the input values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


class BatonError(Exception):
    """Root of every error Baton raises on purpose."""


class ConfigError(BatonError):
    """Configuration that cannot work: a bad mapping, catalog, setting or credential."""


@dataclass(frozen=True)
class Problem:
    """One located problem: where it is (file and dotted path) and what is wrong."""

    path: str
    message: str
    file: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if where and self.line is not None:
            where += f":{self.line}"
        return f"{where + ': ' if where else ''}{self.path or '<root>'}: {self.message}"


class _ProblemList(BatonError):
    """An error that carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem], summary: str) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{summary}:\n{lines}" if lines else summary)


class MappingError(_ProblemList, ConfigError):
    """A mapping (or its catalog) with one or more problems, every one reported with its path."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        problems = tuple(problems)
        super().__init__(problems, f"{len(problems)} mapping problem(s)")


class NotConfigured(ConfigError):
    """None of a platform's ``BATON_<PLATFORM>_*`` settings is set: the platform is not enabled.

    Distinct from a half-configured platform, which is a plain ConfigError naming what is
    missing: that one stops the command instead of being skipped.
    """


class ValidationError(_ProblemList):
    """A document that does not match its model; each problem names the field path."""

    def __init__(self, problems: Sequence[Problem], what: str = "handoff") -> None:
        super().__init__(problems, f"invalid {what}: {len(problems)} problem(s)")


class VerificationError(BatonError):
    """An inbound webhook whose signature, timestamp or headers do not prove it authentic."""


class PayloadError(BatonError):
    """An authentic inbound payload that cannot be read (bad JSON, unknown shape)."""


class StoreUnavailable(BatonError):
    """The database cannot be reached; nothing was written."""


class PlatformError(BatonError):
    """A call to a help-desk platform failed.

    ``status`` is the HTTP status when there was a response, ``code`` the platform's own short
    error code (``RecordInvalid``, ``REQUEST_LIMIT_EXCEEDED`` …) when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.platform = platform
        self.status = status
        self.code = code
        super().__init__(f"{platform}: {message}")


class RetryableError(PlatformError):
    """Worth retrying: rate limits, server errors, connection errors and timeouts."""

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, platform=platform, status=status, code=code)
        self.retry_after = retry_after


class FatalError(PlatformError):
    """Retrying the same request cannot succeed; the delivery is dead-lettered."""


class AccessDenied(FatalError):
    """The platform rejected Baton's credentials or permissions (401/403).

    A configuration problem, not a property of one handoff: the worker pauses deliveries to
    that platform instead of dead-lettering them.
    """


class IdempotencyConflict(FatalError):
    """The idempotency key already stands for something else (several matches, or another body).

    A subclass of FatalError so that every path that dead-letters fatal errors also catches
    this one; it is never treated as a success.
    """


class TargetRefused(FatalError):
    """The platform refused the create's routing target (a deleted group, an inactive agent …).

    Nothing was created. ``fields`` names the refused target fields (the platform's own names).
    ``backup`` is the label of the mapping's backup target when the refused create did not use
    it, so that the delivery worker can try once more on it; None when there is none (or it was
    the backup that was refused). Dead-lettered like any FatalError otherwise.
    """

    def __init__(
        self, message: str, *, fields: Sequence[str] = (), backup: str | None = None, **where: Any
    ) -> None:
        """``where``: PlatformError's ``platform`` (required), ``status`` and ``code``."""
        super().__init__(message, **where)
        self.fields: tuple[str, ...] = tuple(fields)
        self.backup = backup
