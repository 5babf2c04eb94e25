"""``baton worker`` whose Zendesk connector SIGKILLs its own process right after a create
returned (see test_o1_crash.py, RELIABILITY O1).

    python o1_answered_then_killed.py MARKER [WORKER ARGS...]

The real ``ZendeskConnector.create_ticket`` runs; once it returns — the platform created the
ticket and the connector holds the answer — this process writes the ticket id to MARKER and
sends itself SIGKILL, before the worker can commit the ticket link.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from baton.connectors.zendesk.connector import ZendeskConnector
from baton.core.handoff import Handoff
from baton.core.ports import TicketRef
from baton.webhooks.cli import app


def main(marker: Path, worker_args: list[str]) -> None:
    """Run ``baton worker`` with ``worker_args``, the connector wrapped to die when answered."""
    create = ZendeskConnector.create_ticket

    def create_then_die(self: ZendeskConnector, handoff: Handoff, **kwargs: Any) -> TicketRef:
        ref = create(self, handoff, **kwargs)
        marker.write_text(ref.ticket_id)
        os.kill(os.getpid(), signal.SIGKILL)
        return ref  # not reached

    ZendeskConnector.create_ticket = create_then_die  # type: ignore[method-assign]
    app(["worker", *worker_args], prog_name="baton")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
