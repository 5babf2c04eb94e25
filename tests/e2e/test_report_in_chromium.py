"""``baton report --html``'s page in headless Chromium, as a support director would open it:
a realistic month's report draws every chart (each ``<svg>`` laid out with a size and marks in
it), logs no console error and asks the network for nothing but the page itself.

Chromium is Debian's package (``.ci/install-chromium``, which ``make test`` runs as root);
Playwright drives it. Without it the test skips with the reason, or fails when ``CI=true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.chromium import chromium_missing, render
from tests.support.report_screenshot import month_page

CHARTS = {
    "chart-weeks",
    "chart-resolution",
    "chart-csat",
    "chart-right-party",
    "chart-sla",
    "chart-containment",
}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def chromium() -> None:
    """Skip (or fail in CI) with the reason when the browser cannot run here."""
    missing = chromium_missing()
    if missing is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the report page needs Chromium in CI: {missing}")
    pytest.skip(missing)


@pytest.mark.usefixtures("chromium")
def test_the_report_page_draws_every_chart_offline_without_errors(tmp_path: Path) -> None:
    page = month_page(tmp_path)
    screenshot = tmp_path / "report.png"
    rendered = render(page, screenshot, width=1280)
    assert rendered.console_errors == []
    assert rendered.page_errors == []
    assert rendered.requests == [page.resolve().as_uri()]  # nothing but the page itself
    assert {chart.chart_id for chart in rendered.charts} == CHARTS
    for chart in rendered.charts:
        assert chart.width > 300, chart
        assert chart.height > 100, chart
        assert chart.drawn > 5, chart
    assert screenshot.read_bytes().startswith(PNG)
    assert screenshot.stat().st_size > 50_000  # a page with content, not a blank one


@pytest.mark.usefixtures("chromium")
def test_the_report_page_fits_a_phone_width(tmp_path: Path) -> None:
    rendered = render(month_page(tmp_path), tmp_path / "narrow.png", width=400)
    assert rendered.console_errors == []
    assert {chart.chart_id for chart in rendered.charts} == CHARTS
    for chart in rendered.charts:  # the charts shrink to the width instead of overflowing it
        assert 200 < chart.width <= 400, chart
