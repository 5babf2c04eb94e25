"""Run one sync of the kill-test feed in its own process (see test_sync.py, RELIABILITY S2).

    python sync_child.py DATABASE_URL PG_OPTIONS MARKER BLOCK_AT

``PG_OPTIONS`` is the libpq ``options`` string (e.g. ``-csearch_path=…``) or empty. When the
runner moves the cursor to ``BLOCK_AT``, this process writes MARKER and blocks forever —
inside that page's transaction, after its dispositions and cursor were written and before
the commit — waiting for the test to SIGKILL it.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from jobs_fakes import T0, kill_test_log
from sqlalchemy.orm import Session

from baton.core.store import Store
from baton.core.sync import run_sync


def main(url: str, pg_options: str, marker: Path, block_at: str) -> None:
    kwargs: dict[str, Any] = {"connect_args": {"options": pg_options}} if pg_options else {}
    store = Store(url, **kwargs)
    set_cursor = store.set_cursor

    def set_cursor_then_block(session: Session, name: str, value: str) -> None:
        set_cursor(session, name, value)
        if value == block_at:
            session.flush()  # written, not committed
            marker.write_text("applied, not committed")
            while True:
                time.sleep(60)

    store.set_cursor = set_cursor_then_block  # type: ignore[method-assign]
    run_sync(store, kill_test_log(), name="zendesk", since=T0 - timedelta(days=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4])
