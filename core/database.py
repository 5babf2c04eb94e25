"""Opening the store the way every command does: at ``BATON_DATABASE_URL``, migrated.

One home for it, so that ``baton serve``, ``baton worker``, ``baton sync`` and ``baton db
upgrade`` report an unreachable database the same way.
"""

from __future__ import annotations

import os

from sqlalchemy.exc import SQLAlchemyError

from baton.core.budget import share_budgets
from baton.core.callback_sender import callbacks_configured
from baton.core.errors import StoreUnavailable
from baton.core.settings import database_url, masked_url
from baton.core.store import Store


def open_store(url: str | None = None) -> Store:
    """The store at ``url`` (default ``BATON_DATABASE_URL``), migrated to the newest schema,
    writing the callback outbox when ``BATON_CALLBACK_URL`` is set (every process that changes
    a handoff's state — service, worker, sync, backfill — must, or events go untold), and
    sharing its rate budgets with every other process on it (:mod:`core.budget`).

    An unreachable database is StoreUnavailable naming the URL with its password masked and the
    driver's first line of explanation (never a bound parameter).
    """
    url = url or database_url()
    store = Store(url)
    store.callbacks_enabled = callbacks_configured(os.environ)
    try:
        store.migrate()
    except SQLAlchemyError as exc:
        store.close()
        origin = getattr(exc, "orig", None)
        lines = str(origin if origin is not None else exc).splitlines()
        reason = lines[0][:200] if lines else type(exc).__name__
        raise StoreUnavailable(f"cannot reach {masked_url(url)}: {reason}") from None
    share_budgets(store)
    return store
