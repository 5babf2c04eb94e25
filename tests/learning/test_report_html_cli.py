"""``baton report --html FILE``: the page written where asked (said on stderr), with the
dimensions its charts need whatever ``--by`` says, and clear refusals of options it cannot
honour."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.core.store import Store
from baton.webhooks.cli import app
from tests.learning.test_metrics import deliver, observed, record


@pytest.fixture
def filled(cli_store: Store) -> Store:
    deliver(cli_store, "1", intent="billing.refund")
    record(cli_store, observed("1", "resolved", 30, resolution_seconds=1800, csat=1.0))
    deliver(cli_store, "2", intent="account.access")
    record(cli_store, observed("2", "transferred", 10, transfer_count=1))
    return cli_store


def test_html_writes_the_page_with_every_chart_whatever_by_says(
    filled: Store, tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--by", "intent", "--html", str(target)])
    assert result.exit_code == 0, result.output
    assert f"wrote the report page to {target}" in result.stderr
    assert result.stdout == ""
    page = target.read_text(encoding="utf-8")
    for chart in ("chart-weeks", "chart-resolution", "chart-csat", "chart-right-party"):
        assert f'id="{chart}"' in page
    assert "without the" not in page  # trigger, route and group were added to --by intent


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--json"], "--html: choose --html FILE or --json, not both"),
        (["--period", "week"], "--html: the page charts the whole range"),
    ],
)
def test_html_refuses_options_it_cannot_honour(
    filled: Store, tmp_path: Path, options: list[str], message: str
) -> None:
    target = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--html", str(target), *options])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not target.exists()


def test_html_into_a_missing_folder_is_a_clear_error(filled: Store, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "report.html"
    result = CliRunner().invoke(app, ["report", "--html", str(target)])
    assert result.exit_code == 2
    assert "--html: cannot write" in " ".join(result.output.split())
