"""``verify_callback``: the receiving side of Baton's callback, verify-then-parse in one call.

Baton signs each callback with the Standard Webhooks scheme (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64>``, secrets ``whsec_…``); this checks
it with the ``standardwebhooks`` package itself, against any of several secrets (during a
rotation, the new one and the old one), and only then reads the body.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from baton.client.errors import CallbackVerificationError


def _verifiers(secrets: str | Sequence[str]) -> list[Webhook]:
    listed = [secrets] if isinstance(secrets, str) else list(secrets)
    if not listed:
        raise CallbackVerificationError("no callback secret given")
    try:
        return [Webhook(secret) for secret in listed]
    except Exception:  # the package raises several kinds for a malformed secret
        raise CallbackVerificationError(
            "a callback secret is not a Standard Webhooks secret (whsec_ + base64)"
        ) from None


def verify_callback(
    headers: Mapping[str, str], body: bytes | str, secrets: str | Sequence[str]
) -> dict[str, Any]:
    """The callback event ``{type, timestamp, data}`` once its signature is proven with one of
    ``secrets`` and its timestamp is within five minutes of now.

    ``body`` must be the raw body as received (not re-serialised JSON). Raises
    :class:`~baton.client.CallbackVerificationError` for a missing or bad signature, a stale
    timestamp, or an authentic body that is not an event; the message never holds a secret
    or the body.
    """
    verifiers = _verifiers(secrets)
    try:
        text = body.decode() if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise CallbackVerificationError("the body is not UTF-8") from None
    plain = {str(name): str(value) for name, value in headers.items()}
    reason = "no signature matches any secret"
    for verifier in verifiers:
        try:
            verifier.verify(text, plain, json_parse=False)
        except WebhookVerificationError as exc:
            reason = str(exc) or reason  # the package's own short reasons (no values)
            continue
        except (ValueError, binascii.Error):  # a malformed signature header
            reason = "malformed webhook-signature header"
            continue
        return _event(text)
    raise CallbackVerificationError(f"callback not verified: {reason}")


def _event(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise CallbackVerificationError("authentic callback, but its body is not JSON") from None
    if not (
        isinstance(document, dict)
        and isinstance(document.get("type"), str)
        and isinstance(document.get("timestamp"), str)
        and isinstance(document.get("data"), dict)
    ):
        raise CallbackVerificationError(
            "authentic callback, but not an event {type, timestamp, data}"
        )
    return document
