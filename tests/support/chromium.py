"""The report page in headless Chromium (Debian's ``chromium`` package, driven by Playwright):
what it drew, what it logged as errors and what it asked the network for.

Playwright's wheel brings its driver; the browser is the system's ``/usr/bin/chromium``
(``.ci/install-chromium`` installs it where the tests run as root), since no browser download
is reachable from here.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path(os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps calling home, which a closed network
# answers with noise; none of them changes how a page renders.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHART_CHILDREN = "rect, path, line, circle"


@dataclass(frozen=True)
class Chart:
    """One ``<svg>`` as the browser laid it out."""

    chart_id: str
    width: float
    height: float
    drawn: int  # how many rect, path, line and circle elements it has


@dataclass
class Rendered:
    """What opening the page did."""

    charts: list[Chart] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/install-chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def render(
    page_file: Path, screenshot: Path, *, width: int = 1280, height: int | None = None
) -> Rendered:
    """Open ``page_file`` in headless Chromium ``width`` pixels wide, record every console
    error and request, measure each chart and save a screenshot: of the whole page, or of its
    top ``height`` pixels."""
    from playwright.sync_api import sync_playwright

    rendered = Rendered()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height or 900})
            page.on(
                "console",
                lambda m: rendered.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: rendered.page_errors.append(str(e)))
            page.on("request", lambda r: rendered.requests.append(r.url))
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            for svg in page.locator("svg.chart").all():
                box = svg.bounding_box() or {"width": 0.0, "height": 0.0}
                rendered.charts.append(
                    Chart(
                        svg.get_attribute("id") or "",
                        box["width"],
                        box["height"],
                        svg.locator(CHART_CHILDREN).count(),
                    )
                )
            page.screenshot(path=str(screenshot), full_page=height is None)
        finally:
            browser.close()
    return rendered
