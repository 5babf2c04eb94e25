"""HubSpot connection settings, read from ``BATON_HUBSPOT_*``.

The private app's access token authenticates every API call; the app's client secrets (several
while rotating) verify webhooks. Secrets are ``SecretStr``: never in ``repr``, logs or errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, SecretStr

from baton.connectors.hubspot import facts
from baton.connectors.shared import positive_setting
from baton.core.errors import ConfigError

_BASE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?/?$")
_PORTAL = re.compile(r"^[0-9]{1,19}$")


class HubSpotSettings(BaseModel):
    """The connection settings (see :mod:`baton.connectors.hubspot.connector`)."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr
    portal_id: str | None = None
    client_secrets: tuple[SecretStr, ...] = ()
    legacy_signatures: tuple[str, ...] = ()
    app_url: str = facts.DEFAULT_APP_URL
    host_override: str | None = None
    rate_limit: float = facts.DEFAULT_RATE_LIMIT  # requests per ten seconds
    timeout: float = facts.DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HubSpotSettings:
        """Read and check the settings; ConfigError names the setting, never its value."""
        token = env.get(facts.ENV_ACCESS_TOKEN, "").strip()
        if not token:
            raise ConfigError(f"{facts.ENV_ACCESS_TOKEN} is required (a private app's token)")
        portal = env.get(facts.ENV_PORTAL_ID, "").strip() or None
        if portal is not None and not _PORTAL.fullmatch(portal):
            raise ConfigError(f"{facts.ENV_PORTAL_ID} must be the account's numeric id")
        secrets = tuple(
            SecretStr(s.strip())
            for s in env.get(facts.ENV_CLIENT_SECRETS, "").split(",")
            if s.strip()
        )
        legacy = tuple(
            v.strip().lower()
            for v in env.get(facts.ENV_LEGACY_SIGNATURES, "").split(",")
            if v.strip()
        )
        unknown = [v for v in legacy if v not in facts.LEGACY_VERSIONS]
        if unknown:
            raise ConfigError(f"{facts.ENV_LEGACY_SIGNATURES} takes v1 and/or v2")
        return cls(
            access_token=SecretStr(token),
            portal_id=portal,
            client_secrets=secrets,
            legacy_signatures=legacy,
            app_url=_base_url(env, facts.ENV_APP_URL) or facts.DEFAULT_APP_URL,
            host_override=_base_url(env, facts.ENV_HOST_OVERRIDE),
            rate_limit=positive_setting(env, facts.ENV_RATE_LIMIT, facts.DEFAULT_RATE_LIMIT),
            timeout=positive_setting(env, facts.ENV_TIMEOUT, facts.DEFAULT_TIMEOUT),
        )

    @property
    def api_host(self) -> str:
        """Where the API calls go: HubSpot's API host, or the override (the sandbox)."""
        return self.host_override or facts.API_HOST

    def where(self) -> str:
        """The host and portal, for messages (no secret)."""
        return f"{self.api_host}, portal {self.portal_id or '?'}"


def _base_url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not _BASE_URL.fullmatch(raw):
        raise ConfigError(f"{name} must be a base URL such as http://127.0.0.1:8605")
    return raw.rstrip("/")


def _listed(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]
