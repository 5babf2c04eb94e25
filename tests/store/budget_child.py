"""Send requests to the Zendesk sandbox through one connector, in its own process (R1).

    python budget_child.py DATABASE_URL PG_OPTIONS BASE_URL REQUESTS PER_MINUTE BURST SHARED

``PG_OPTIONS`` is the libpq ``options`` string or empty. With SHARED = 1 the process shares
its rate budget through the store at DATABASE_URL (as every Baton command does); with 0 it
keeps its own. Prints ``{"sent": n, "refused": m}`` as JSON: requests answered, and requests
the connector raised for (429, or a pause longer than the wait allowed).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import SecretStr

from baton.connectors.zendesk.connector import ZendeskConnector
from baton.connectors.zendesk.http import ZendeskSettings
from baton.core.budget import account_limiter, share_budgets
from baton.core.errors import RetryableError
from baton.core.store import Store


def main(url: str, pg_options: str, base_url: str, *numbers: str) -> None:
    count, per_minute, burst, shared = (
        int(numbers[0]),
        float(numbers[1]),
        int(numbers[2]),
        numbers[3] == "1",
    )
    kwargs: dict[str, Any] = {"connect_args": {"options": pg_options}} if pg_options else {}
    store = Store(url, **kwargs)
    if shared:
        share_budgets(store)
    settings = ZendeskSettings(
        subdomain="baton-sandbox",
        email="baton@example.com",
        token=SecretStr("sandbox-token"),
        base_url=base_url,
        rate_limit=per_minute,
    )
    limiter = account_limiter("zendesk", base_url, per_minute, burst)
    connector = ZendeskConnector(settings, None, limiter=limiter)
    sent = refused = 0
    try:
        for i in range(count):
            try:
                connector.find_ticket(f"r1-{i}")
                sent += 1
            except RetryableError:
                refused += 1
    finally:
        connector.close()
        store.close()
    print(json.dumps({"sent": sent, "refused": refused}))


if __name__ == "__main__":
    main(*sys.argv[1:])
