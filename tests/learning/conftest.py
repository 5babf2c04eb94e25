"""Fixtures of the learning tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.core.store import Store


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A migrated SQLite store that ``baton`` commands run in this test will open."""
    url = f"sqlite:///{tmp_path / 'learning.db'}"
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    store = Store(url)
    store.migrate()
    try:
        yield store
    finally:
        store.close()
