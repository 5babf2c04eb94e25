"""Salesforce settings and the login the SDK performs with them.

Three logins, all simple-salesforce's own (``Salesforce(session=…, domain=…, …)``):

* **JWT bearer** — ``CLIENT_ID`` + ``USERNAME`` + ``PRIVATE_KEY_FILE``;
* **client credentials** — ``CLIENT_ID`` + ``CLIENT_SECRET`` with a My Domain in ``DOMAIN``
  (``acme.my``; simple-salesforce refuses it on ``login``/``test``);
* **username + password (+ security token)** — SOAP login, which Salesforce is retiring:
  accepted with a warning, logged once per process.

Secrets are ``SecretStr``: they never show in ``repr``, logs or error messages (C2).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr

from baton.connectors.salesforce import facts
from baton.connectors.shared import positive_setting
from baton.core.errors import ConfigError

log = logging.getLogger(__name__)

_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,120}$")
_BASE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?/?$")
_ORG_ID = re.compile(r"^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
_warned_soap_login = False


class LoginFlow(StrEnum):
    """How Baton logs in to Salesforce."""

    JWT_BEARER = "jwt-bearer"
    CLIENT_CREDENTIALS = "client-credentials"
    SOAP_PASSWORD = "soap-password"  # noqa: S105 - the flow's name


class SalesforceSettings(BaseModel):
    """The connection settings read from ``BATON_SALESFORCE_*``."""

    model_config = ConfigDict(frozen=True)

    flow: LoginFlow
    domain: str = facts.DEFAULT_DOMAIN
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    private_key_file: Path | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    instance_url: str | None = None
    host_override: str | None = None
    organization_id: str | None = None
    webhook_paths: tuple[SecretStr, ...] = ()
    api_version: str = facts.DEFAULT_API_VERSION
    rate_limit: float = facts.DEFAULT_RATE_LIMIT
    timeout: float = facts.DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SalesforceSettings:
        """Read ``BATON_SALESFORCE_*``; ConfigError names the setting, never its value."""
        domain = _text(env, facts.ENV_DOMAIN) or facts.DEFAULT_DOMAIN
        if not _DOMAIN.match(domain) or domain.endswith(facts.SALESFORCE_HOST_SUFFIX):
            raise ConfigError(f"{facts.ENV_DOMAIN} must be login, test or a My Domain (acme.my)")
        key_file = _text(env, facts.ENV_PRIVATE_KEY_FILE)
        secret = _text(env, facts.ENV_CLIENT_SECRET)
        password = _text(env, facts.ENV_PASSWORD)
        fields: dict[str, Any] = {
            "domain": domain,
            "client_id": _text(env, facts.ENV_CLIENT_ID) or None,
            "username": _text(env, facts.ENV_USERNAME) or None,
            "instance_url": _base_url(env, facts.ENV_INSTANCE_URL),
            "host_override": _base_url(env, facts.ENV_HOST_OVERRIDE),
            "organization_id": _organization_id(env),
            "webhook_paths": tuple(
                SecretStr(p.strip())
                for p in _text(env, facts.ENV_WEBHOOK_PATHS).split(",")
                if p.strip()
            ),
            "rate_limit": positive_setting(env, facts.ENV_RATE_LIMIT, facts.DEFAULT_RATE_LIMIT),
            "timeout": positive_setting(env, facts.ENV_TIMEOUT, facts.DEFAULT_TIMEOUT),
        }
        if key_file:
            fields.update(flow=LoginFlow.JWT_BEARER, private_key_file=Path(key_file))
            _require(fields, "client_id", facts.ENV_CLIENT_ID, "JWT bearer")
            _require(fields, "username", facts.ENV_USERNAME, "JWT bearer")
            if not Path(key_file).is_file():
                raise ConfigError(f"{facts.ENV_PRIVATE_KEY_FILE} does not name a readable file")
        elif password:
            fields.update(flow=LoginFlow.SOAP_PASSWORD, password=SecretStr(password))
            fields["security_token"] = SecretStr(_text(env, facts.ENV_SECURITY_TOKEN))
            _require(fields, "username", facts.ENV_USERNAME, "username/password login")
        elif secret:
            fields.update(flow=LoginFlow.CLIENT_CREDENTIALS, client_secret=SecretStr(secret))
            _require(fields, "client_id", facts.ENV_CLIENT_ID, "client credentials")
            if domain in facts.GENERIC_LOGIN_DOMAINS:
                raise ConfigError(
                    f"{facts.ENV_DOMAIN} must be the org's My Domain (acme.my) for client "
                    "credentials; login and test do not take that flow"
                )
        else:
            raise ConfigError(
                f"no Salesforce login is configured: set {facts.ENV_PRIVATE_KEY_FILE} (JWT "
                f"bearer) or {facts.ENV_CLIENT_SECRET} (client credentials), with "
                f"{facts.ENV_CLIENT_ID}"
            )
        return cls(**fields)

    def login_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``simple_salesforce.Salesforce`` (less ``session``).

        Carries secrets: never log it. The username/password flow warns, once per process.
        """
        arguments: dict[str, Any] = {"domain": self.domain, "version": self.api_version}
        if self.flow is LoginFlow.JWT_BEARER:
            assert self.private_key_file is not None
            arguments.update(
                username=self.username,
                consumer_key=self.client_id,
                privatekey_file=str(self.private_key_file),
            )
        elif self.flow is LoginFlow.CLIENT_CREDENTIALS:
            assert self.client_secret is not None
            arguments.update(
                consumer_key=self.client_id,
                consumer_secret=self.client_secret.get_secret_value(),
            )
        else:
            assert self.password is not None
            assert self.security_token is not None
            warn_soap_login()
            arguments.update(
                username=self.username,
                password=self.password.get_secret_value(),
                security_token=self.security_token.get_secret_value(),
            )
        return arguments

    def where(self) -> str:
        """The org's place for messages and catalog sources: no credential in it."""
        return self.host_override or self.instance_url or f"{self.domain}.salesforce.com"


def warn_soap_login() -> None:
    """Log, once per process, that the username/password (SOAP) login is being retired."""
    global _warned_soap_login
    if _warned_soap_login:
        return
    _warned_soap_login = True
    log.warning(
        "Salesforce: logging in with username, password and security token (SOAP login), "
        "which Salesforce is retiring; configure JWT bearer (%s) or client credentials (%s)",
        facts.ENV_PRIVATE_KEY_FILE,
        facts.ENV_CLIENT_SECRET,
    )


def _text(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _require(fields: dict[str, Any], key: str, name: str, flow: str) -> None:
    if not fields.get(key):
        raise ConfigError(f"{name} is not set (needed by the {flow} login)")


def _base_url(env: Mapping[str, str], name: str) -> str | None:
    raw = _text(env, name)
    if not raw:
        return None
    if not _BASE_URL.match(raw):
        raise ConfigError(f"{name} must look like https://host[:port]")
    parts = urlsplit(raw)
    return f"{parts.scheme}://{parts.netloc}"


def _organization_id(env: Mapping[str, str]) -> str | None:
    raw = _text(env, facts.ENV_ORGANIZATION_ID)
    if raw and not _ORG_ID.match(raw):
        raise ConfigError(f"{facts.ENV_ORGANIZATION_ID} must be a 15- or 18-character org id")
    return raw or None
