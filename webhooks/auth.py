"""Request guards that run before any real work (API keys, the body size limit), and the
error answers every route shares.

API keys: only SHA-256 digests of the configured keys are kept, and a presented key is compared
with every one of them through :func:`hmac.compare_digest` (no early exit, so the time taken
does not say which key, or how much of one, matched).

Body limit: a declared ``Content-Length`` over the limit is refused before a byte is read, and
the streamed read stops as soon as it passes the limit, so an oversized body costs neither
memory nor HMAC work (RELIABILITY A8).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

from baton.core.errors import StoreUnavailable
from baton.core.store import UNSTORABLE_ERRORS as UNSTORABLE_ERRORS  # receivers import it here

BEARER = "bearer"


class BodyTooLarge(Exception):
    """The body is over the limit (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"body over {limit} bytes")
        self.limit = limit


class BadContentLength(Exception):
    """The ``Content-Length`` header is not a number (answered 400)."""


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class ApiKeys:
    """The configured API keys, kept as SHA-256 digests only."""

    def __init__(self, keys: Iterable[SecretStr | str]) -> None:
        self._digests = tuple(
            _digest(k.get_secret_value() if isinstance(k, SecretStr) else k) for k in keys
        )

    def __repr__(self) -> str:
        return f"ApiKeys({len(self._digests)} key(s))"

    @property
    def configured(self) -> bool:
        """Whether any key is configured."""
        return bool(self._digests)

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries one of the keys as a Bearer token."""
        if not authorization:
            return False
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != BEARER or not token:
            return False
        return self._matches(token)

    def accepts_basic(self, authorization: str | None) -> bool:
        """Whether an ``Authorization: Basic …`` value carries one of the keys as its password
        (any user name): how a browser, which cannot send a bearer header, shows a key."""
        if not authorization:
            return False
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        _, colon, password = decoded.partition(":")
        return bool(colon and password) and self._matches(password)

    def _matches(self, token: str) -> bool:
        presented = _digest(token)
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(digest, presented)
        return matched


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body exactly as received, or :class:`BodyTooLarge` once it passes ``limit``.

    A declared ``Content-Length`` over ``limit`` fails before anything is read.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BadContentLength from None
        if length < 0:
            raise BadContentLength
        if length > limit:
            raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


# --- answers shared by every route ------------------------------------------------------

RETRY_AFTER_SECONDS = 5
STORE_ERRORS: tuple[type[BaseException], ...] = (StoreUnavailable, SQLAlchemyError)


def error_response(
    status: int, error: str, headers: Mapping[str, str] | None = None, **extra: object
) -> JSONResponse:
    """A JSON error ``{"error": <code>, …}``; callers never put input values in ``extra``."""
    return JSONResponse({"error": error, **extra}, status_code=status, headers=headers)


def unavailable() -> JSONResponse:
    """503 with ``Retry-After``: nothing was stored, try again (senders retry 5xx, K2/K3)."""
    return error_response(503, "unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def unauthorized_bearer() -> JSONResponse:
    """401 for a missing or wrong API key, with the challenge clients expect."""
    return error_response(401, "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="baton"'})


def unauthorized_basic() -> JSONResponse:
    """401 for a browser page: the Basic challenge makes the browser ask for the key."""
    challenge = 'Basic realm="baton report", charset="UTF-8"'
    return error_response(401, "unauthorized", headers={"WWW-Authenticate": challenge})
