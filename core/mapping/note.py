"""The internal note: rendered from its template, fitted to the platform's size limit.

Newest turns are kept: when the note is too long, the oldest turns are dropped (and counted
in ``omitted`` for the template to say so) until it fits. Only when even the note without
any turn is too long is the text itself cut, with a visible marker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

from core.mapping.facts import SizeLimit
from core.templating import render

TRUNCATION_MARKER = "\n[… note shortened to fit the platform's limit]"


def fit_note(
    template: jinja2.Template,
    context: Mapping[str, Any],
    transcript: list[Any],
    limit: SizeLimit,
    max_turns: int,
) -> str:
    """Render the note with as many of the newest turns as fit within ``limit``."""
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
