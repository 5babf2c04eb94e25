"""A .env file in the working directory fills settings the environment does not set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.webhooks.cli import app
from tests.support.paths import MAPPINGS


def test_dotenv_fills_unset_settings_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(MAPPINGS, tmp_path / "from-dotenv")
    (tmp_path / ".env").write_text("BATON_MAPPINGS_DIR=from-dotenv\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    # Set, then delete: monkeypatch then restores the original state, so what .env loads
    # into this process does not leak into other tests.
    monkeypatch.setenv("BATON_MAPPINGS_DIR", "placeholder")
    monkeypatch.delenv("BATON_MAPPINGS_DIR")
    result = CliRunner().invoke(app, ["mappings", "validate"])
    assert result.exit_code == 0, result.output
    assert "from-dotenv" in result.output

    monkeypatch.setenv("BATON_MAPPINGS_DIR", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["mappings", "validate"])
    assert result.exit_code == 2
    assert "no mapping files" in result.output
