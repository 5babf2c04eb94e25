"""``/services/oauth2/token``: the client-credentials and JWT-bearer flows, as simple-salesforce
sends them (form-encoded; client credentials in HTTP Basic or in the form)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl

import jwt

from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.errors import SalesforceError
from baton.sandbox.salesforce.org import Org

Json = dict[str, Any]


def token(org: Org, raw_body: bytes, authorization: str | None) -> Json:
    """The token answer for a form-encoded request; SalesforceError(400/401) otherwise."""
    form = dict(parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
    grant = form.get("grant_type")
    if grant == facts.GRANT_CLIENT_CREDENTIALS:
        client_id, secret = _client(form, authorization)
        if not (
            hmac.compare_digest(client_id, org.client_id)
            and hmac.compare_digest(secret, org.client_secret)
        ):
            raise SalesforceError(400, dict(facts.INVALID_CLIENT))
        return _answer(org, org.api_user)
    if grant == facts.GRANT_JWT_BEARER:
        return _answer(org, _jwt_user(org, form.get("assertion", "")))
    raise SalesforceError(400, dict(facts.UNSUPPORTED_GRANT))


def _client(form: dict[str, str], authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeError):
            raise SalesforceError(400, dict(facts.INVALID_CLIENT)) from None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _jwt_user(org: Org, assertion: str) -> str:
    if org.jwt_public_key is None:
        raise SalesforceError(400, dict(facts.INVALID_ASSERTION))
    try:
        claims = jwt.decode(
            assertion,
            _verifying_key(org.jwt_public_key),
            algorithms=["RS256"],
            options={
                "verify_aud": False,
                "verify_exp": False,
                "require": ["iss", "sub", "aud", "exp"],
            },
        )
    except jwt.InvalidTokenError:
        raise SalesforceError(400, dict(facts.INVALID_ASSERTION)) from None
    if claims.get("iss") != org.client_id:
        raise SalesforceError(400, dict(facts.INVALID_CLIENT_ID))
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not any(str(a).rstrip("/") in org.jwt_audiences for a in audiences):
        raise SalesforceError(400, dict(facts.AUDIENCE_INVALID))
    try:
        expires = float(claims["exp"])
    except (TypeError, ValueError):
        raise SalesforceError(400, dict(facts.INVALID_ASSERTION)) from None
    if expires <= org.clock().timestamp():
        raise SalesforceError(400, dict(facts.EXPIRED_ASSERTION))
    with org.lock:
        for user in org.records["User"].values():
            if user["Username"] == claims["sub"] and user["IsActive"]:
                return str(user["Id"])
    raise SalesforceError(400, dict(facts.USER_NOT_APPROVED))


def _verifying_key(pem: str) -> Any:
    """A public key from a PEM public key or X.509 certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = pem.encode("ascii")
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return load_pem_public_key(data)


def _answer(org: Org, user_id: str) -> Json:
    issued_at = str(int(org.clock().timestamp() * 1000))
    identity = f"{facts.IDENTITY_HOST}/id/{org.organization_id}/{user_id}"
    digest = hmac.new(org.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
    return {
        "access_token": org.open_session(user_id),
        "signature": base64.b64encode(digest.digest()).decode("ascii"),
        "scope": "api",
        "instance_url": org.instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }
