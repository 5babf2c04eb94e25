"""Waiting on a running service over HTTP, for the end-to-end tests."""

from __future__ import annotations

import json
import time

import httpx


def wait_until_healthy(base: str, seconds: float = 20) -> None:
    """Return once ``GET {base}/healthz`` answers 200; AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service did not become healthy")


def wait_for_disposition(
    client: httpx.Client, status_url: str, seconds: float = 20
) -> dict[str, object]:
    """The handoff's status once it carries a disposition; AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = client.get(status_url).json()
        if status.get("disposition"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"no disposition came back: {json.dumps(status)}")
