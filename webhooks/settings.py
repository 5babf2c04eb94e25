"""The service's settings, read from ``BATON_*`` environment variables.

================================  ==========================  ==================================
variable                          default                     meaning
================================  ==========================  ==================================
``BATON_API_KEYS``                (none: intake refuses all)  comma-separated keys for
                                                              ``Authorization: Bearer <key>``
``BATON_DEFAULT_PLATFORM``        the first registered        where a handoff without
                                  platform (Zendesk)          ``destination`` goes
``BATON_PUBLIC_URL``              ``http://127.0.0.1:8600``   the base URL platforms call; the
                                                              signed URL is built from it, never
                                                              from a request's Host header
``BATON_MAX_BODY_BYTES``          ``1048576`` (1 MiB)         larger bodies get 413 unread
``BATON_INBOX_RETENTION_DAYS``    ``7`` (at least 4)          how long processed webhook events
                                                              are kept to recognise duplicates
``BATON_MAPPINGS_DIR``            ``./mappings`` or packaged  mapping folder (redaction rules)
``BATON_WORKER_MIN_BACKOFF``      ``30`` (seconds)            the delivery worker's first wait
                                                              before a failed delivery's next
                                                              claim (:func:`worker_policy`)
================================  ==========================  ==================================

API keys are :class:`~pydantic.SecretStr`: ``repr()`` and ``str()`` of the settings never show
them (RELIABILITY C2).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from baton.core.errors import ConfigError
from baton.core.inbox import MIN_RETENTION_DAYS
from baton.core.packaged import choose_mappings
from baton.core.plugin import registry
from baton.core.retry import RetryPolicy

ONE_MIB = 1024 * 1024
MIN_API_KEY_CHARS = 16
WORKER_MIN_BACKOFF = "BATON_WORKER_MIN_BACKOFF"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8600"

ENV_NAMES = {
    "api_keys": "BATON_API_KEYS",
    "default_platform": "BATON_DEFAULT_PLATFORM",
    "public_url": "BATON_PUBLIC_URL",
    "max_body_bytes": "BATON_MAX_BODY_BYTES",
    "inbox_retention_days": "BATON_INBOX_RETENTION_DAYS",
    "mappings_dir": "BATON_MAPPINGS_DIR",
}


class ServiceSettings(BaseModel):
    """Everything the HTTP service needs besides the store and the connectors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_keys: tuple[SecretStr, ...] = ()
    default_platform: str = Field(default_factory=lambda: registry().names[0])
    public_url: str = DEFAULT_PUBLIC_URL
    max_body_bytes: Annotated[int, Field(ge=1, le=64 * ONE_MIB)] = ONE_MIB
    inbox_retention_days: Annotated[int, Field(ge=MIN_RETENTION_DAYS, le=3650)] = 7
    # ./mappings when present, else the packaged defaults (core.packaged).
    mappings_dir: Path = Field(default_factory=lambda: choose_mappings(None).path)

    @field_validator("api_keys")
    @classmethod
    def _keys_long_enough(cls, keys: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for key in keys:
            if len(key.get_secret_value()) < MIN_API_KEY_CHARS:
                raise ValueError(f"every key needs at least {MIN_API_KEY_CHARS} characters")
        return keys

    @field_validator("default_platform")
    @classmethod
    def _registered(cls, value: str) -> str:
        known = registry()
        if value not in known:
            raise ValueError(f"must be one of {', '.join(known.names)}")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://baton.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or a fragment")
        return value.rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Read the settings; a bad value raises ConfigError naming the variable (one line,
        never the value, which may be a key)."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field_name, variable in ENV_NAMES.items():
            value = env.get(variable, "").strip()
            if value:
                raw[field_name] = value
        if "api_keys" in raw:
            raw["api_keys"] = tuple(k.strip() for k in str(raw["api_keys"]).split(",") if k.strip())
        try:
            return cls.model_validate(raw)
        except pydantic.ValidationError as exc:
            raise ConfigError(_first_problem(exc)) from None

    def webhook_url(self, platform: str) -> str:
        """The public URL a platform calls for its webhooks (the URL some schemes sign)."""
        return f"{self.public_url}/webhooks/{platform}"

    @property
    def api_keys_configured(self) -> bool:
        """Whether any API key is set (without one, handoff intake refuses every request)."""
        return bool(self.api_keys)


def _first_problem(exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    problems = []
    for err in errors:
        field_name = str(err["loc"][0]) if err["loc"] else ""
        variable = ENV_NAMES.get(field_name, field_name)
        message = err["msg"].removeprefix("Value error, ")
        problems.append(f"{variable}: {message}")
    return "; ".join(problems)


def worker_policy(
    environ: Mapping[str, str] | None = None, *, min_backoff: float | None = None
) -> RetryPolicy:
    """The delivery workers' retry policy: the defaults, with the minimum backoff between
    claims (``backoff_initial``) from ``min_backoff`` (``baton worker --min-backoff``), else
    ``BATON_WORKER_MIN_BACKOFF``. ConfigError naming the option or the variable when it is not
    a positive number of seconds."""
    if min_backoff is not None:
        return RetryPolicy(backoff_initial=_positive_seconds(min_backoff, "--min-backoff"))
    env = os.environ if environ is None else environ
    raw = env.get(WORKER_MIN_BACKOFF, "").strip()
    if not raw:
        return RetryPolicy()
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigError(f"{WORKER_MIN_BACKOFF} must be a positive number of seconds") from None
    return RetryPolicy(backoff_initial=_positive_seconds(seconds, WORKER_MIN_BACKOFF))


def _positive_seconds(value: float, name: str) -> float:
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be a positive number of seconds")
    return value


__all__ = [
    "MIN_RETENTION_DAYS",
    "ONE_MIB",
    "WORKER_MIN_BACKOFF",
    "ServiceSettings",
    "worker_policy",
]
