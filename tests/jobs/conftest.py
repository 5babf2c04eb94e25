"""Fixtures of the job tests (delivery worker, sync runner, their CLI commands).

The fakes live in ``jobs_fakes.py`` beside this file, which is put on ``sys.path`` so that
the test modules and the subprocess script ``sync_child.py`` share one definition.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).parent))

from jobs_fakes import NoSleep

from baton.core.delivery import DeliveryMetrics


@pytest.fixture
def registry() -> CollectorRegistry:
    """A Prometheus registry of the test's own."""
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> DeliveryMetrics:
    """Worker metrics on ``registry``, so tests can read exact values."""
    return DeliveryMetrics(registry)


@pytest.fixture
def no_sleep() -> NoSleep:
    """A sleep for tenacity that records the waits instead of sleeping."""
    return NoSleep()
