"""``baton handoff FILE.json``: post a handoff to a running Baton service, for ops and shell
scripts, through :mod:`baton.client` (validated first, retried with the same id), then wait
for its ticket and print the link.

The service is ``--url`` (``BATON_URL``, default ``http://127.0.0.1:8600``, where ``baton
serve`` listens); the API key, one of the service's ``BATON_API_KEYS``, comes from
``--api-key-file`` or ``BATON_API_KEY``. Exit codes: 0 accepted (and, with ``--wait``, the
ticket exists); 1 Baton unreachable or unavailable after the retries, or no ticket within
``--timeout``; 2 bad input (an invalid handoff, with every field path; a conflicting id; a
refused key; an unreadable file).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from baton.core.errors import BatonError
from baton.webhooks.cli_core import bad_input_exits_2, err, out

DEFAULT_URL = "http://127.0.0.1:8600"  # `baton serve`'s default port
URL_ENV = "BATON_URL"
API_KEY_ENV = "BATON_API_KEY"
EXIT_UNAVAILABLE = 1


def register(app: typer.Typer) -> None:
    """Add ``baton handoff`` to ``app``."""
    app.command("handoff")(handoff)


def _api_key(key_file: Path | None) -> str:
    if key_file is not None:
        try:
            key = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BatonError(
                f"--api-key-file {key_file}: cannot read it ({exc.strerror})"
            ) from None
        if not key:
            raise BatonError(f"--api-key-file {key_file}: the file is empty")
        return key
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise BatonError(
            f"no API key: set {API_KEY_ENV} (one of the service's BATON_API_KEYS) "
            "or pass --api-key-file"
        )
    return key


def _document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise BatonError(f"{path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise BatonError(f"{path}: not JSON ({type(exc).__name__})") from None
    if not isinstance(document, dict):
        raise BatonError(f"{path}: a handoff file holds one JSON object")
    return document


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(EXIT_UNAVAILABLE)


@bad_input_exits_2
def handoff(
    handoff_file: Annotated[
        Path, typer.Argument(metavar="FILE.json", help="One handoff document.", dir_okay=False)
    ],
    url: Annotated[
        str, typer.Option("--url", envvar=URL_ENV, help="The Baton service's base URL.")
    ] = DEFAULT_URL,
    api_key_file: Annotated[
        Path | None,
        typer.Option(
            "--api-key-file",
            dir_okay=False,
            help=f"A file holding the API key (default: the {API_KEY_ENV} environment variable).",
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the ticket and print its link.")
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds to wait for the ticket.")
    ] = 60.0,
    retries: Annotated[
        int,
        typer.Option("--retries", min=0, help="Retries on connection errors, 429 and 5xx."),
    ] = 3,
) -> None:
    """Post a handoff to a running Baton service and print the ticket link when it arrives."""
    from rich.markup import escape

    from baton.client import BatonClient, ServiceUnavailable, TransportError, WaitTimeout

    document = _document(handoff_file)
    key = _api_key(api_key_file)
    with BatonClient(url, key, retries=retries) as client:
        try:
            accepted = client.handoff(document)
        except TransportError as exc:
            raise _fail(
                f"cannot reach Baton at {escape(url)}: {exc} (is the service running?)"
            ) from None
        except ServiceUnavailable as exc:
            raise _fail(f"Baton at {escape(url)} is unavailable: {exc}; try again later") from None
        state = "already received" if accepted.existing else "accepted"
        out.print(f"{state} {accepted.id} for {accepted.platform}", highlight=False)
        out.print(f"status: {accepted.status_url}", highlight=False, markup=False)
        for warning in accepted.warnings:
            err.print(f"warning: {warning.path}: {warning.message}", highlight=False, markup=False)
        if not wait:
            return
        try:
            status = client.wait(accepted.id, until="ticket", timeout=timeout)
        except WaitTimeout:
            raise _fail(
                f"no ticket within {timeout:g} s; follow it at {accepted.status_url}"
            ) from None
        except (TransportError, ServiceUnavailable) as exc:
            raise _fail(f"lost Baton while waiting for the ticket: {exc}") from None
    ticket = status.ticket
    assert ticket is not None  # wait(until="ticket") returns only once it exists
    link = ticket.url or f"{ticket.platform} #{ticket.id}"
    out.print(f"ticket: {link}", highlight=False, markup=False)
