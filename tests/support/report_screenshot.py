"""Regenerate ``docs/report-screenshot.png``, the report page README.md shows:
``python -m tests.support.report_screenshot`` (or ``make report-screenshot``).

It fills a throw-away SQLite store with the realistic month of :mod:`.report_month`, writes the
page ``baton report --html`` would write, opens it in headless Chromium at 1280 px and saves the
top of the page (the headline numbers and the first charts) as the PNG. Needs the system's
Chromium (``.ci/install-chromium``) and the ``dev`` extra (Playwright).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from baton.core.learning.page import report_html
from baton.core.store import Store
from tests.support.chromium import chromium_missing, render
from tests.support.paths import ROOT
from tests.support.report_month import fill_month, month_report

SCREENSHOT = ROOT / "docs" / "report-screenshot.png"
WIDTH = 1280


def month_page(folder: Path) -> Path:
    """The realistic month's report page, written to ``folder/baton-report.html``."""
    store = Store(f"sqlite:///{folder / 'month.db'}")
    store.migrate()
    try:
        fill_month(store)
        page = folder / "baton-report.html"
        page.write_text(report_html(month_report(store)), encoding="utf-8")
    finally:
        store.close()
    return page


def main(target: Path = SCREENSHOT) -> int:
    """Write the screenshot to ``target``; 1 (with the reason) when Chromium cannot run."""
    missing = chromium_missing()
    if missing:
        print(f"report-screenshot: {missing}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        rendered = render(month_page(Path(folder)), target, width=WIDTH, height=1900)
    problems = rendered.console_errors + rendered.page_errors
    if problems:
        print(f"report-screenshot: the page logged errors: {problems}", file=sys.stderr)
        return 1
    print(f"report-screenshot: wrote {target} ({target.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else SCREENSHOT))
