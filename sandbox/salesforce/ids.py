"""Salesforce record ids: the 15 → 18 character conversion, checks and a generator."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Container

from baton.sandbox.salesforce.facts import ID_SUFFIX_ALPHABET

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID15 = re.compile(r"[0-9A-Za-z]{15}")
_ID18 = re.compile(r"[0-9A-Za-z]{18}")


def id_suffix(id15: str) -> str:
    """The three-character case-insensitive checksum of a 15-character id."""
    if not _ID15.fullmatch(id15):
        raise ValueError(f"not a 15-character id: {id15!r}")
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for offset, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        suffix += ID_SUFFIX_ALPHABET[bits]
    return suffix


def to18(record_id: str) -> str:
    """A 15- or 18-character id as 18 characters (an 18-character one is returned as is)."""
    if _ID18.fullmatch(record_id):
        return record_id
    return record_id + id_suffix(record_id)


def is_id(text: str) -> bool:
    """Whether ``text`` has an id's shape: 15 alphanumerics, or 18 (the suffix not checked:
    seeded ids keep whatever suffix they came with)."""
    return bool(_ID15.fullmatch(text) or _ID18.fullmatch(text))


def key(record_id: str) -> str:
    """The case-sensitive 15-character part that identifies a record."""
    return record_id[:15]


class IdMaker:
    """New 18-character ids with a key prefix, numbered from 1 (thread-safe)."""

    def __init__(self, pod: str = "5g") -> None:
        self._pod = pod
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def new(self, prefix: str, taken: Container[str] = ()) -> str:
        """The next id with ``prefix`` (three characters) whose key is not in ``taken``."""
        while True:
            with self._lock:
                number = next(self._counters.setdefault(prefix, itertools.count(1)))
            width = 15 - len(prefix) - len(self._pod)
            digits = ""
            while number:
                number, rest = divmod(number, 62)
                digits = _BASE62[rest] + digits
            made = to18(prefix + self._pod + digits.rjust(width, "0"))
            if key(made) not in taken:
                return made
