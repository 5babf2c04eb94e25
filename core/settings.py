"""Settings read from the environment.

Only the database URL lives here for now. A URL may carry a password: never log it or put it
in a message as is; use :func:`masked_url`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DATABASE_URL_ENV = "BATON_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///baton.db"

_POSTGRES_PREFIXES = ("postgresql://", "postgres://")
_POSTGRES_DRIVER_PREFIX = "postgresql+psycopg://"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The database URL from ``BATON_DATABASE_URL`` (default ``sqlite:///baton.db``).

    ``postgresql://`` and ``postgres://`` are rewritten to ``postgresql+psycopg://``.
    """
    env = os.environ if environ is None else environ
    return normalize_database_url(env.get(DATABASE_URL_ENV, "").strip() or DEFAULT_DATABASE_URL)


def normalize_database_url(url: str) -> str:
    """Point bare PostgreSQL URLs at the psycopg 3 driver; leave any other URL alone."""
    for prefix in _POSTGRES_PREFIXES:
        if url.startswith(prefix):
            return _POSTGRES_DRIVER_PREFIX + url[len(prefix) :]
    return url


def masked_url(url: str) -> str:
    """The URL with its password replaced by ``***``, safe for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"
