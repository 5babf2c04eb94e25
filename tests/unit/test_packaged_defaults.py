"""Baton runs from anywhere: the packaged defaults, which folder wins, and ``baton init``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.core.packaged import (
    EXAMPLES_PACKAGE,
    MAPPINGS_PACKAGE,
    choose_examples,
    choose_mappings,
    packaged_folder,
)
from baton.core.starter import starter_files
from baton.webhooks.cli import app

runner = CliRunner()


def test_the_packaged_defaults_hold_every_mapping_catalog_template_and_example() -> None:
    """The package data is the repository's mappings/ and examples/ (nothing left out)."""
    mappings = packaged_folder(MAPPINGS_PACKAGE)
    for name in ("zendesk.yaml", "salesforce.yaml", "hubspot.yaml", "redaction.yaml"):
        assert (mappings / name).is_file(), name
    for platform in ("zendesk", "salesforce", "hubspot"):
        assert (mappings / "catalogs" / f"{platform}.json").is_file()
    assert (mappings / "templates" / "note.html.j2").is_file()
    assert len(list((packaged_folder(EXAMPLES_PACKAGE) / "handoffs").glob("*.json"))) >= 8


def test_a_given_folder_wins_then_the_local_one_then_the_packaged_one(tmp_path: Path) -> None:
    """--mappings / BATON_MAPPINGS_DIR, else ./mappings, else the packaged defaults."""
    given = tmp_path / "elsewhere"
    assert choose_mappings(given, cwd=tmp_path).why == "given"
    assert choose_mappings(None, cwd=tmp_path).why == "packaged"
    assert choose_examples(None, cwd=tmp_path).path.name == "handoffs"
    (tmp_path / "mappings").mkdir()
    local = choose_mappings(None, cwd=tmp_path)
    assert (local.why, local.path) == ("local", tmp_path / "mappings")
    assert "working directory" in local.describe("mappings")


def test_validate_from_an_empty_folder_uses_and_names_the_packaged_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`baton mappings validate` in an empty folder: exit 0, and it says which folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATON_MAPPINGS_DIR", raising=False)
    result = runner.invoke(app, ["mappings", "validate"])
    assert result.exit_code == 0, result.output
    assert "the defaults packaged with Baton" in result.output


def test_init_writes_a_starter_folder_that_then_wins_and_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`baton init`: the packaged files (no __init__.py) plus .env.example; run again, exit 2
    and nothing changes; validate then uses ./mappings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATON_MAPPINGS_DIR", raising=False)
    assert runner.invoke(app, ["init"]).exit_code == 0
    source = packaged_folder(MAPPINGS_PACKAGE)
    starter = tmp_path / "mappings"
    written = sorted(p.relative_to(starter) for p in starter.rglob("*") if p.is_file())
    assert written == starter_files(source)
    assert Path("__init__.py") not in written
    for name in written:
        assert (tmp_path / "mappings" / name).read_bytes() == (source / name).read_bytes()
    assert "BATON_API_KEYS" in (tmp_path / ".env.example").read_text()

    (tmp_path / "mappings" / "zendesk.yaml").write_text("edited by ops\n")
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 2
    assert "not overwriting" in again.output
    assert (tmp_path / "mappings" / "zendesk.yaml").read_text() == "edited by ops\n"

    (tmp_path / "mappings" / "zendesk.yaml").write_bytes((source / "zendesk.yaml").read_bytes())
    result = runner.invoke(app, ["mappings", "validate"])
    assert result.exit_code == 0, result.output
    assert "found in the working directory" in result.output


def test_resolve_refuses_to_write_into_the_packaged_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refreshing a catalog needs a folder of one's own: the fix is named."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATON_MAPPINGS_DIR", raising=False)
    result = runner.invoke(app, ["mappings", "resolve", "--platform", "zendesk"])
    assert result.exit_code == 2
    assert "baton init" in result.output
