"""Text the store can hold, on every supported database (RELIABILITY K5).

PostgreSQL's ``text`` cannot hold U+0000, and no database driver can encode a lone UTF-16
surrogate (U+D800–U+DFFF, which JSON's ``\\ud800`` escapes can produce) as UTF-8. SQLite
would take the first and fail on the second, so the rule is the same for both backends: such
text never reaches the store. Input from a caller (a handoff, a path parameter, a webhook's
event id) that carries it is refused with a 4xx naming the field; text read from a platform
(a sync page, a webhook's disposition fields) is made storable with :func:`storable` instead,
because the platform's record must not be lost for one unprintable character.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None when it can. Never quotes the text."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (U+0000), which cannot be stored"
    return "contains a lone surrogate (U+D800 to U+DFFF), which is not valid Unicode text"


def is_storable(text: str) -> bool:
    """Whether ``text`` can be stored as it is."""
    return _UNSTORABLE.search(text) is None


def storable(text: str) -> str:
    """``text`` with each unstorable character replaced by U+FFFD (for platform data)."""
    return _UNSTORABLE.sub(REPLACEMENT, text)
