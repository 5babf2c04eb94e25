"""Which platforms a command runs: with none of its settings skipped, with some they must work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.connectors.base import configured_connector
from baton.core.errors import MappingError, NotConfigured
from baton.webhooks.cli import app
from tests.support.paths import MAPPINGS


def _worker(tmp_path: Path, **settings: str) -> tuple[int, str]:
    env = {
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path}/baton.db",
        "BATON_MAPPINGS_DIR": str(MAPPINGS),
        "BATON_ZENDESK_SUBDOMAIN": "",
        "BATON_ZENDESK_EMAIL": "",
        "BATON_ZENDESK_TOKEN": "",
        "BATON_ZENDESK_URL": "",
        **settings,
    }
    result = CliRunner().invoke(app, ["worker", "--once"], env=env)
    return result.exit_code, result.output


def test_a_half_configured_platform_stops_the_command_naming_the_setting(tmp_path: Path) -> None:
    code, output = _worker(tmp_path, BATON_ZENDESK_URL="http://127.0.0.1:1")
    assert code == 2
    assert "BATON_ZENDESK_" in output
    assert "skipped" not in output
    assert "Traceback" not in output


def test_a_platform_with_no_settings_is_skipped(tmp_path: Path) -> None:
    code, output = _worker(tmp_path)
    assert code == 2  # nothing left to run
    assert "zendesk: skipped, not configured" in output
    assert "no platform is configured" in output


def test_the_one_enabling_rule_reads_no_mapping_for_a_platform_nobody_set_up(
    tmp_path: Path,
) -> None:
    """configured_connector: no settings → NotConfigured even where the mapping is missing;
    some settings → the mapping must load (its error names the folder)."""
    with pytest.raises(NotConfigured):
        configured_connector("zendesk", tmp_path, env={"OTHER": "x"})
    with pytest.raises(MappingError, match=str(tmp_path)):
        configured_connector("zendesk", tmp_path, env={"BATON_ZENDESK_SUBDOMAIN": "acme"})
