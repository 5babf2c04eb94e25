"""Sizes and field types the mapping engine treats the same on every platform."""

from __future__ import annotations

from dataclasses import dataclass

# Catalog field types that take one of a fixed set of option values, numbers, or booleans
# (each platform's own names for them; a plugin's catalog uses these words).
OPTION_TYPES = frozenset(
    {"tagger", "dropdown", "multiselect", "picklist", "multipicklist", "enumeration"}
)
NUMBER_TYPES = frozenset({"decimal", "integer", "double", "number", "currency", "percent", "int"})
BOOLEAN_TYPES = frozenset({"checkbox", "boolean"})


@dataclass(frozen=True)
class SizeLimit:
    """A size ceiling, in characters or in UTF-8 bytes."""

    amount: int
    unit: str = "chars"

    def measure(self, text: str) -> int:
        """The size of ``text`` in this limit's unit."""
        return len(text.encode("utf-8")) if self.unit == "bytes" else len(text)

    def cut(self, text: str, marker: str) -> str:
        """``text`` shortened to fit, ending with ``marker`` (itself shortened when even it
        does not fit: the limit always holds)."""
        if self.measure(marker) > self.amount:
            return self._head(marker, self.amount)
        return self._head(text, self.amount - self.measure(marker)) + marker

    def _head(self, text: str, room: int) -> str:
        if self.unit == "bytes":
            return text.encode("utf-8")[: max(room, 0)].decode("utf-8", errors="ignore")
        return text[: max(room, 0)]
