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
        """``text`` shortened to fit, ending with ``marker``."""
        room = self.amount - self.measure(marker)
        if self.unit == "bytes":
            head = text.encode("utf-8")[: max(room, 0)].decode("utf-8", errors="ignore")
        else:
            head = text[: max(room, 0)]
        return head + marker
