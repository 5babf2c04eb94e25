"""Accepting a handoff: the one path every handoff takes into the store, whether it arrives on
``POST /v1/handoffs`` or from a file (``baton backfill``).

Parsed and validated (every problem with its field path, never an input value), sent to its
destination or the default platform (which must be enabled), redacted before anything is
stored, the redacted copy read back exactly as the worker will read it, then stored with its
pending delivery in one transaction. The handoff id is the idempotency key: the same handoff
again is ``existing``, the same id with another handoff a ``conflict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from baton.core.errors import BatonError, Problem, ValidationError
from baton.core.handoff import Handoff, load_stored_handoff, normalisations, parse_handoff
from baton.core.redact import Redactor
from baton.core.store import UNSTORABLE_ERRORS, Store

Result = Literal["created", "existing", "conflict", "invalid"]


class RedactedCopyInvalid(BatonError):
    """Redaction produced a handoff the worker could not read: Baton's fault, never stored."""


@dataclass(frozen=True)
class Acceptance:
    """What became of one handoff: its result, and what the caller tells the sender."""

    result: Result
    handoff: Handoff | None = None  # the redacted handoff, as stored (None when invalid)
    platform: str | None = None
    problems: tuple[Problem, ...] = ()  # why it is invalid
    warnings: tuple[Problem, ...] = ()  # unknown words accepted as ``other``


@dataclass(frozen=True)
class HandoffGate:
    """Accepts handoffs into ``store`` for the enabled ``platforms``."""

    store: Store
    redactor: Redactor
    platforms: frozenset[str]
    default_platform: str

    def accept(self, raw: bytes | str) -> Acceptance:
        """Validate, route, redact and store one handoff's JSON.

        Store errors other than unstorable input propagate (nothing was stored); a redaction
        that breaks the model raises :class:`RedactedCopyInvalid`.
        """
        try:
            handoff = parse_handoff(raw)
        except ValidationError as exc:
            return Acceptance("invalid", problems=exc.problems)
        platform = handoff.destination or self.default_platform
        if platform not in self.platforms:
            enabled = ", ".join(sorted(self.platforms)) or "none"
            where = "destination" if handoff.destination else "default platform"
            message = f"{where} '{platform}' is not enabled; enabled: {enabled}"
            problem = Problem("destination", message)
            return Acceptance("invalid", problems=(problem,))
        try:
            redacted = self.redactor.redact_handoff(handoff)
        except ValidationError as exc:
            return Acceptance("invalid", problems=exc.problems)
        try:
            load_stored_handoff(redacted.model_dump_json())
        except ValidationError as exc:
            # Redaction keeps every limit by construction (core.privacy); if it ever did not,
            # refuse now rather than accept a handoff the worker could not read.
            paths = ",".join(p.path or "<root>" for p in exc.problems)[:200]
            raise RedactedCopyInvalid(f"redacted copy of {handoff.id} invalid at {paths}") from None
        try:
            added = self.store.add_handoff(redacted, platform)
        except UNSTORABLE_ERRORS:
            problem = Problem("", "holds text the database cannot store")
            return Acceptance("invalid", problems=(problem,))
        if added.conflict:
            return Acceptance("conflict", redacted, platform)
        if not added.created:
            return Acceptance("existing", redacted, platform)
        return Acceptance("created", redacted, platform, warnings=tuple(normalisations(handoff)))
