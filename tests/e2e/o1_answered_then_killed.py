"""``baton worker`` whose connector SIGKILLs its own process right after a create returned
(see test_o1_crash.py, RELIABILITY O1).

    python o1_answered_then_killed.py PLATFORM MARKER [WORKER ARGS...]

The real connector of PLATFORM (built by its plugin) runs ``create_ticket``; once it returns —
the platform created the ticket and the connector holds the answer — this process writes the
ticket id to MARKER and sends itself SIGKILL, before the worker can commit the ticket link.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from baton.core.handoff import Handoff
from baton.core.mapping.compiler import CompiledMapping
from baton.core.plugin import registry
from baton.core.ports import Connector, TicketRef
from baton.webhooks.cli import app


def main(platform: str, marker: Path, worker_args: list[str]) -> None:
    """Run ``baton worker`` with ``worker_args``, PLATFORM's connector wrapped to die when
    answered."""
    plugin = registry().get(platform)
    make = plugin.make_connector

    def make_dying(mapping: CompiledMapping | None, env: Mapping[str, str]) -> Connector:
        connector = make(mapping, env)
        create = connector.create_ticket

        def create_then_die(handoff: Handoff, **kwargs: Any) -> TicketRef:
            ref = create(handoff, **kwargs)
            marker.write_text(ref.ticket_id)
            os.kill(os.getpid(), signal.SIGKILL)
            return ref  # not reached

        connector.create_ticket = create_then_die  # type: ignore[method-assign]
        return connector

    plugin.make_connector = make_dying  # type: ignore[method-assign]
    app(["worker", *worker_args], prog_name="baton")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3:])
