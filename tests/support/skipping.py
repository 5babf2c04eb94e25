"""Skipping a test whose prerequisite is missing here, but never in CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail with it when the environment variable ``CI`` is ``true``
    (CI installs every prerequisite, so a missing one there is a failure)."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
