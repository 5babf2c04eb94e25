"""Value at stake: a number the handoffs carry as a fact (an order total, ARR) that a mapping
names under ``value_at_stake:``, summed by the report per dimension and outcome."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from baton.core.errors import ConfigError
from baton.core.mapping.spec import ValueAtStake

Stakes = Mapping[str, ValueAtStake]
"""The value fact each platform's mapping names, by platform."""


def stakes_in(folder: Path) -> dict[str, ValueAtStake]:
    """Each platform's ``value_at_stake`` from the mapping files in ``folder`` (those naming
    one); ConfigError when two name different units, since the report sums one unit."""
    from baton.core.mapping import load_mapping
    from baton.core.plugin import registry

    found: dict[str, ValueAtStake] = {}
    for name in registry().names:
        if (folder / f"{name}.yaml").exists():
            stake = load_mapping(folder, name).spec.value_at_stake
            if stake is not None:
                found[name] = stake
    units = {stake.unit for stake in found.values()}
    if len(units) > 1:
        named = ", ".join(f"{name}.yaml says {stake.unit}" for name, stake in found.items())
        raise ConfigError(f"value_at_stake.unit: the report sums one unit, but {named}")
    return found


def unit_of(stakes: Stakes) -> str | None:
    """The one unit the mappings count value in, or None when none names a value fact."""
    return next((stake.unit for stake in stakes.values()), None)


def stake_of(facts: Mapping[str, object], wanted: ValueAtStake) -> float | None:
    """The first of ``wanted``'s facts that holds a finite number (a number, or a string that
    is one, like ``"1200.50"``); None when none does. Booleans are not numbers here."""
    for key in wanted.facts:
        value = facts.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                continue
        else:
            continue
        if math.isfinite(number):
            return number
    return None
