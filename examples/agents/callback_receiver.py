"""Receive Baton's callbacks: verify each one, drop repeats, answer 2xx.

Baton POSTs every change of a handoff (ticket.created, ticket.replied, conversation.returned …)
to BATON_CALLBACK_URL, signed with BATON_CALLBACK_SECRETS. Run this where that URL points, with
the same two variables Baton runs with:

    export BATON_CALLBACK_URL=http://127.0.0.1:8700/baton BATON_CALLBACK_SECRETS=whsec_…
    python callback_receiver.py
"""

import os
import signal
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

from baton.client import CallbackVerificationError, verify_callback


def receiver(on_event: Callable[[dict[str, Any]], None]) -> HTTPServer:
    """A server on BATON_CALLBACK_URL's host and port calling ``on_event`` once per event."""
    secrets = os.environ["BATON_CALLBACK_SECRETS"].split(",")  # the new and old while rotating
    seen: set[str] = set()

    class Callback(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                event = verify_callback(dict(self.headers.items()), body, secrets)
            except CallbackVerificationError:
                self.send_response(401)
            else:
                if self.headers["webhook-id"] not in seen:  # at least once: skip a repeat
                    seen.add(self.headers["webhook-id"])
                    on_event(event)
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # quiet: no line per request
            pass

    url = urlsplit(os.environ["BATON_CALLBACK_URL"])
    return HTTPServer((url.hostname or "127.0.0.1", url.port or 80), Callback)


def show(event: dict[str, Any]) -> None:
    """Print an event; the ticket link when it is ``ticket.created``."""
    data = event["data"]
    line = f"{event['type']} {data['handoff_id']} {data.get('ticket_url') or ''}"
    print(line.rstrip(), flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stop request, as Ctrl-C is
    server = receiver(show)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # stop cleanly, exit 0
        server.server_close()
