"""The internal note: rendered from its template, fitted to the platform's size limit.

Newest turns are kept: when the note is too long, the oldest turns are dropped (and counted
in ``omitted`` for the template to say so) until it fits. Only when even the note without
any turn is too long is the text itself cut, with a visible marker.

A preface goes above the rendered template, put there by code so that no template can leave it
out; room for it is reserved, so the whole note still fits. It holds the identity warning, and
first of all, on a platform whose note is a request of its own after the create, the note
marker: a line naming the handoff id, which a retry looks for before posting the note again
(RELIABILITY O7). It sits at the top because the fitter cuts the end, and it is made only of
characters HTML escaping leaves alone (a handoff id is ``A-Za-z0-9._:-``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

from baton.core.mapping.limits import SizeLimit
from baton.core.templating import render

TRUNCATION_MARKER = "\n[… note shortened to fit the platform's limit]"
_NOTE_MARKER = "[Baton handoff {handoff_id}]"


def note_marker(handoff_id: str, *, html: bool) -> str:
    """The line that opens a note posted on its own, naming its handoff."""
    line = _NOTE_MARKER.format(handoff_id=handoff_id)
    return f"<p>{line}</p>\n" if html else f"{line}\n\n"


def carries_note_marker(text: str, handoff_id: str) -> bool:
    """Whether ``text`` (a note as the platform returns it, HTML or plain) is this handoff's."""
    return _NOTE_MARKER.format(handoff_id=handoff_id) in text


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
