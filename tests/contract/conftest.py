"""The contract suite runs once per registered connector, each on its own platform harness.

``harness`` is parametrized over ``connectors.base.delivering_platforms()``; a connector
without a harness in ``harness.py`` fails loudly instead of being silently left out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from baton.connectors.base import delivering_platforms
from tests.contract.harness import HARNESSES, Harness

PLATFORMS = sorted(delivering_platforms())


@pytest.fixture(params=PLATFORMS)
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """A started sandbox and its connector, for every registered platform in turn."""
    platform: str = request.param
    start = HARNESSES.get(platform)
    if start is None:
        pytest.fail(
            f"connector '{platform}' is registered but tests/contract/harness.py has no "
            "harness for it: add one to HARNESSES",
            pytrace=False,
        )
    with start(monkeypatch) as running:
        yield running
