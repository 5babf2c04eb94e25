"""The contract suite runs once per platform, each on its own harness, property by property.

``harness`` is parametrized over ``connectors.base.delivering_platforms()`` with the test
plugins (ToyDesk) loaded; a connector without a harness in ``harnesses.py`` fails loudly
instead of being silently left out. Every contract test carries ``@pytest.mark.property(id)``
(an id of ``properties.PROPERTIES``). A (property, platform) pair the platform's harness opts
out of is skipped with the written reason; a pair declared a known gap runs as a strict xfail
(it must still fail). The end of the run prints one table: a row per property, a column per
platform, each cell ``pass``, ``FAIL``, ``opt-out: <reason>`` or ``known gap: <what>``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from baton.connectors.base import delivering_platforms
from baton.core.plugin import PLUGINS_ENV
from tests.contract.harness import Harness
from tests.contract.harnesses import HARNESSES, TEST_PLUGINS, unknown_opt_outs
from tests.contract.properties import PROPERTIES

HERE = Path(__file__).resolve().parent


def contract_platforms() -> list[str]:
    """Every platform with a connector, the test plugins' included."""
    plugins = ",".join(TEST_PLUGINS.values())
    with mock.patch.dict(os.environ, {PLUGINS_ENV: plugins}):
        return sorted(delivering_platforms())


PLATFORMS = contract_platforms()
_CELLS: dict[tuple[str, str], str] = {}  # (property, platform) → pass / FAIL / opt-out / skip
_ITEMS: dict[str, tuple[str, str]] = {}  # node id → (property, platform)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``property`` marker."""
    config.addinivalue_line(
        "markers", "property(id): the RELIABILITY property a contract test proves"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check ids and opt-outs; skip every opted-out (property, platform) pair with its reason."""
    unknown = unknown_opt_outs()
    if unknown:
        raise pytest.UsageError(
            f"harnesses opt out of properties the suite does not know: {unknown}"
        )
    for item in items:
        if HERE not in item.path.parents or "harness" not in getattr(item, "fixturenames", ()):
            continue
        marker = item.get_closest_marker("property")
        if marker is None or marker.args[0] not in PROPERTIES:
            raise pytest.UsageError(f"{item.nodeid}: mark it with a known property id")
        pid: str = marker.args[0]
        platform = str(item.callspec.params["harness"])  # type: ignore[attr-defined]
        _ITEMS[item.nodeid] = (pid, platform)
        registered = HARNESSES.get(platform)
        reason = registered.opt_outs.get(pid) if registered else None
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"opt-out: {reason}"))
            _CELLS[pid, platform] = f"opt-out: {reason}"
        gap = registered.known_gaps.get(pid) if registered else None
        if gap is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"known gap: {gap}"))
            _CELLS[pid, platform] = f"known gap: {gap}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Fold each contract test's outcome into its (property, platform) cell."""
    key = _ITEMS.get(report.nodeid)
    if key is None or _CELLS.get(key, "").startswith(("opt-out", "known gap")):
        if key is not None and report.failed:  # a strict xfail that passed: the gap is closed
            _CELLS[key] = "FAIL (known gap passed: remove it)"
        return
    if report.failed:
        _CELLS[key] = "FAIL"
    elif report.when == "call" and report.passed and _CELLS.get(key) != "FAIL":
        _CELLS[key] = "pass"
    elif report.skipped and key not in _CELLS:
        _CELLS[key] = "skip"


def property_table() -> list[str]:
    """The property × platform table, as lines."""
    rows = [["property", *PLATFORMS]]
    for pid in PROPERTIES:
        if any((pid, platform) in _CELLS for platform in PLATFORMS):
            rows.append([pid, *(_CELLS.get((pid, p), "-") for p in PLATFORMS)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the property × platform table when contract tests ran."""
    if not _CELLS:
        return
    terminalreporter.section("contract: property × platform")
    for line in property_table():
        terminalreporter.write_line(line)


@pytest.fixture(params=PLATFORMS)
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """A started sandbox and its connector, for every registered platform in turn."""
    platform: str = request.param
    registered = HARNESSES.get(platform)
    if registered is None:
        pytest.fail(
            f"connector '{platform}' is registered but tests/contract/harnesses.py has no "
            "harness for it: add one to HARNESSES",
            pytrace=False,
        )
    with registered.start(monkeypatch) as running:
        yield running
