"""The internal note: rendered from its template, fitted to the platform's size limit.

Newest turns are kept: when the note is too long, the oldest turns are dropped (and counted
in ``omitted`` for the template to say so) until it fits. Only when even the note without
any turn is too long is the text itself cut, with a visible marker.

A preface (the identity warning) goes above the rendered template, put there by code so that no
template can leave it out; room for it is reserved, so the whole note still fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

from baton.core.mapping.limits import SizeLimit
from baton.core.templating import render

TRUNCATION_MARKER = "\n[… note shortened to fit the platform's limit]"


def identity_warning(*, html: bool, claimed_is_requester: bool) -> str:
    """The warning that opens the note when a customer's claimed identity is not verified.

    Fixed text only, never a value from the handoff, so nothing unredacted can reach it.
    """
    if claimed_is_requester:
        text = "the requester is the identity the customer claimed"
    else:
        text = "the claimed identity below is not the requester"
    advice = "Verify it before acting on the account."
    if html:
        return f"<p><strong>⚠️ Identity not verified</strong>: {text}. {advice}</p>\n"
    return f"⚠ IDENTITY NOT VERIFIED: {text}. {advice}\n\n"


def fit_note(
    template: jinja2.Template,
    context: Mapping[str, Any],
    transcript: list[Any],
    limit: SizeLimit,
    max_turns: int,
    *,
    preface: str = "",
) -> str:
    """``preface`` then the note with as many of the newest turns as fit, within ``limit``."""
    room = SizeLimit(limit.amount - limit.measure(preface), limit.unit)
    return preface + _fit(template, context, transcript, room, max_turns)


def _fit(
    template: jinja2.Template,
    context: Mapping[str, Any],
    transcript: list[Any],
    limit: SizeLimit,
    max_turns: int,
) -> str:
    candidates = transcript[len(transcript) - max_turns :] if max_turns else []

    def attempt(kept: int) -> str:
        turns = candidates[len(candidates) - kept :] if kept else []
        return render(template, {**context, "turns": turns, "omitted": len(transcript) - kept})

    best = attempt(len(candidates))
    if limit.measure(best) <= limit.amount:
        return best
    low, high = 0, len(candidates) - 1  # invariant: kept = high + 1 does not fit
    best = attempt(0)
    if limit.measure(best) > limit.amount:
        return limit.cut(best, TRUNCATION_MARKER)
    while low < high:
        middle = (low + high + 1) // 2
        text = attempt(middle)
        if limit.measure(text) <= limit.amount:
            low, best = middle, text
        else:
            high = middle - 1
    return best
