"""HubSpot webhooks: signature verification (v3, and v1/v2 when a deployment enables them) and
reading the batch of events a verified body carries.

Plain functions the connector calls (as ``connectors/zendesk/events.py`` does for Zendesk); the
facts they rely on, with where each was confirmed, are in :mod:`connectors.hubspot.facts`.

**v3** (``X-HubSpot-Signature-v3``): base64(HMAC-SHA256(client secret, method + URI + raw body +
``X-HubSpot-Request-Timestamp``)), the timestamp in epoch milliseconds. The URI is the public URL
HubSpot called, rebuilt by the caller from Baton's configured public base URL (never from the
request's Host header), with the twelve percent-encodings of HubSpot's table decoded
(:func:`v3_uri`). Every configured secret is tried (rotation), each in constant time.

**v1** (``X-HubSpot-Signature``, ``X-HubSpot-Signature-Version: v1``): hex SHA-256 of secret +
raw body. **v2**: hex SHA-256 of secret + method + URI + raw body. Neither has a timestamp, so a
captured request replays forever: :func:`verify_request` accepts them only for the versions the
deployment lists.

The SDK's ``hubspot.utils.signature.Signature`` is not used. It computes the same strings, but it
reads the clock itself (``datetime.now``: no injected ``now``, so no tolerance tests), checks only
the past side of the window and floors the timestamp to whole seconds, takes one secret (no
rotation), builds the message from ``str`` (a body that is not valid UTF-8 cannot be checked as
bytes), does not decode the URI per HubSpot's table, and raises its own exception family. The
standard library (hmac, hashlib, base64) and :mod:`core.signatures` do all of it in a few lines.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pydantic
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr

from baton.connectors.hubspot import facts
from baton.core.errors import PayloadError, VerificationError
from baton.core.signatures import check_timestamp, hmac_sha256_base64, signature_matches

_BASE64_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=$")
_HEX_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_MILLISECONDS = re.compile(r"^[0-9]{1,16}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DECODED = {code.upper(): char for code, char in facts.V3_URI_DECODED.items()}
_ENCODED = re.compile(
    "|".join(re.escape(code) for code in facts.V3_URI_DECODED), flags=re.IGNORECASE
)

# ------------------------------------------------------------------------------ verification


def v3_uri(url: str) -> str:
    """``url`` as HubSpot signs it for v3: the percent-encodings of HubSpot's table decoded.

    Only those twelve (``%3A`` → ``:``, ``%2F`` → ``/``, ``%3F`` → ``?``, ``%40`` → ``@``,
    ``%21 %24 %27 %28 %29 %2A %2C %3B`` → ``! $ ' ( ) * , ;``), in either hex case; every other
    escape (``%20``, ``%25`` …) stays as it is, and nothing is decoded twice (``%253A`` stays).
    """
    return _ENCODED.sub(lambda match: _DECODED[match.group(0).upper()], url)


def verify_v3(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    secrets: Sequence[SecretStr],
    now: datetime,
    tolerance: float = facts.V3_TOLERANCE_SECONDS,
) -> None:
    """Raise VerificationError unless a configured secret v3-signed this request recently.

    ``url``: the public URL the receiver was called on, rebuilt from configuration (never the
    Host header), query string included as received. ``tolerance`` (seconds) bounds both sides:
    a timestamp older than ``now - tolerance`` or later than ``now + tolerance`` is refused, one
    exactly ``tolerance`` away is accepted. Nothing but VerificationError leaves this function.
    """
    _guarded(_verify_v3, headers, body, method, url, secrets, now, tolerance)


def verify_v1(headers: Mapping[str, str], body: bytes, secrets: Sequence[SecretStr]) -> None:
    """Raise VerificationError unless ``X-HubSpot-Signature`` is v1 and matches a secret.

    No timestamp: call only when the deployment enables v1 (see :func:`verify_request`).
    """
    _guarded(_verify_legacy, headers, body, facts.SIGNATURE_V1, "", "", secrets)


def verify_v2(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    secrets: Sequence[SecretStr],
) -> None:
    """Raise VerificationError unless ``X-HubSpot-Signature`` is v2 and matches a secret.

    The URI is ``url`` exactly as given (v2 decodes nothing). No timestamp: call only when the
    deployment enables v2 (see :func:`verify_request`).
    """
    _guarded(_verify_legacy, headers, body, facts.SIGNATURE_V2, method, url, secrets)


def verify_request(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    secrets: Sequence[SecretStr],
    now: datetime,
    legacy: Collection[str] = (),
    tolerance: float = facts.V3_TOLERANCE_SECONDS,
) -> None:
    """The connector's ``verify_webhook``: v3 first; v1/v2 only for the versions in ``legacy``.

    A request with a v3 header is proven by v3; when that fails (or the header is absent) and the
    request's ``X-HubSpot-Signature-Version`` is one the deployment lists in ``legacy``
    (``("v1",)``, ``("v1", "v2")``), that signature is checked instead. With ``legacy`` empty,
    only v3 proves anything. Nothing but VerificationError leaves this function.
    """
    lowered = _lowered(headers)
    failure: VerificationError | None = None
    if lowered.get(facts.SIGNATURE_V3_HEADER):
        try:
            verify_v3(
                lowered,
                body,
                method=method,
                url=url,
                secrets=secrets,
                now=now,
                tolerance=tolerance,
            )
            return
        except VerificationError as exc:
            failure = exc
    version = (lowered.get(facts.SIGNATURE_VERSION_HEADER) or "").strip().lower()
    allowed = {v.lower() for v in legacy if v in facts.LEGACY_VERSIONS}
    if version in allowed and lowered.get(facts.SIGNATURE_HEADER):
        if version == facts.SIGNATURE_V1:
            verify_v1(lowered, body, secrets)
        else:
            verify_v2(lowered, body, method=method, url=url, secrets=secrets)
        return
    raise failure or VerificationError(f"missing {facts.SIGNATURE_V3_HEADER} header")


def _guarded(check: Any, *args: Any) -> None:
    try:
        check(*args)
    except VerificationError:
        raise
    except Exception:  # odd input must read as "not verified", never as a crash
        raise VerificationError("webhook could not be verified") from None


def _verify_v3(
    headers: Mapping[str, str],
    body: bytes,
    method: str,
    url: str,
    secrets: Sequence[SecretStr],
    now: datetime,
    tolerance: float,
) -> None:
    if not secrets:
        raise VerificationError("no HubSpot client secret is configured")
    lowered = _lowered(headers)
    signature = _header(lowered, facts.SIGNATURE_V3_HEADER)
    timestamp = _header(lowered, facts.TIMESTAMP_HEADER)
    if not _BASE64_SHA256.match(signature):
        raise VerificationError(f"malformed {facts.SIGNATURE_V3_HEADER} header")
    signed_at = _milliseconds(timestamp)
    message = b"".join(
        (method.encode("utf-8"), v3_uri(url).encode("utf-8"), bytes(body), timestamp.encode())
    )
    expected = [hmac_sha256_base64(_key(s), message) for s in secrets]
    if not signature_matches(expected, signature):
        raise VerificationError("signature does not match")
    check_timestamp(signed_at, now, timedelta(seconds=tolerance))


def _verify_legacy(
    headers: Mapping[str, str],
    body: bytes,
    version: str,
    method: str,
    url: str,
    secrets: Sequence[SecretStr],
) -> None:
    if not secrets:
        raise VerificationError("no HubSpot client secret is configured")
    lowered = _lowered(headers)
    given = _header(lowered, facts.SIGNATURE_VERSION_HEADER).lower()
    if given != version:
        raise VerificationError(f"{facts.SIGNATURE_VERSION_HEADER} is not {version}")
    signature = _header(lowered, facts.SIGNATURE_HEADER)
    if not _HEX_SHA256.match(signature):
        raise VerificationError(f"malformed {facts.SIGNATURE_HEADER} header")
    # v1: secret + body; v2: secret + method + URI + body (method and url are "" for v1).
    tail = method.encode("utf-8") + url.encode("utf-8") + bytes(body)
    expected = [hashlib.sha256(_key(s) + tail).hexdigest() for s in secrets]
    if not signature_matches(expected, signature.lower()):
        raise VerificationError("signature does not match")


def _key(secret: SecretStr) -> bytes:
    return secret.get_secret_value().encode("utf-8")


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased (the receiver already does; direct callers may not)."""
    return {str(name).lower(): value for name, value in headers.items()}


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not isinstance(value, str) or not value.strip():
        raise VerificationError(f"missing {name} header")
    if len(value) > facts.MAX_HEADER_CHARS:
        raise VerificationError(f"malformed {name} header")
    return value.strip()


def _milliseconds(raw: str) -> datetime:
    if not _MILLISECONDS.match(raw):
        raise VerificationError(f"malformed {facts.TIMESTAMP_HEADER} header")
    try:
        return _EPOCH + timedelta(milliseconds=int(raw))
    except OverflowError:
        raise VerificationError(f"malformed {facts.TIMESTAMP_HEADER} header") from None


# ------------------------------------------------------------------------------ the body

_MAX_ID = 2**63 - 1
_MAX_MILLISECONDS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, datetime's last instant
Id = Annotated[int, Field(strict=True, ge=0, le=_MAX_ID)]
Text = Annotated[str, Field(strict=True, max_length=256)]


class HubSpotEvent(BaseModel):
    """One notification of a HubSpot webhook batch (the fields Baton reads; others ignored).

    ``occurred_at_ms`` is HubSpot's ``occurredAt`` (epoch milliseconds); :attr:`occurred_at` is
    the same instant as an aware datetime. Merge events add ``primaryObjectId``,
    ``mergedObjectIds`` and ``newObjectId``.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    event_id: Id = Field(alias="eventId")
    subscription_id: Id = Field(alias="subscriptionId")
    portal_id: Id = Field(alias="portalId")
    app_id: Id | None = Field(default=None, alias="appId")
    occurred_at_ms: Annotated[int, Field(strict=True, ge=0, le=_MAX_MILLISECONDS)] = Field(
        alias="occurredAt"
    )
    subscription_type: Annotated[str, Field(strict=True, min_length=1, max_length=128)] = Field(
        validation_alias=AliasChoices("subscriptionType", "eventType")
    )
    attempt_number: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] = Field(
        default=0, alias="attemptNumber"
    )
    object_id: Id = Field(alias="objectId")
    change_source: Text | None = Field(default=None, alias="changeSource")
    property_name: Text | None = Field(default=None, alias="propertyName")
    property_value: Annotated[str, Field(strict=True)] | None = Field(
        default=None, alias="propertyValue"
    )
    primary_object_id: Id | None = Field(default=None, alias="primaryObjectId")
    merged_object_ids: tuple[Id, ...] = Field(default=(), alias="mergedObjectIds")
    new_object_id: Id | None = Field(default=None, alias="newObjectId")

    @property
    def occurred_at(self) -> datetime:
        """``occurredAt`` as an aware UTC datetime (millisecond precision)."""
        return _EPOCH + timedelta(milliseconds=self.occurred_at_ms)

    @property
    def key(self) -> str:
        """The notification's identity: the same on every redelivery, distinct across
        notifications. HubSpot's ``eventId`` alone "is not guaranteed to be unique" (one change
        can notify several subscriptions), so the portal, subscription and object join it."""
        return f"{self.portal_id}:{self.subscription_id}:{self.event_id}:{self.object_id}"

    @property
    def is_ticket_event(self) -> bool:
        """A ticket subscription Baton reads (association changes and other objects are not)."""
        return self.subscription_type in facts.TICKET_SUBSCRIPTIONS


_BATCH = pydantic.TypeAdapter(list[HubSpotEvent])


def read_events(body: bytes) -> list[HubSpotEvent]:
    """The events of a verified HubSpot body, in body order, one per notification.

    The body is a JSON array of at most ``facts.MAX_BATCH_EVENTS`` objects. A notification
    repeated inside the batch (same :attr:`HubSpotEvent.key`) is kept once, the first copy.
    Anything else raises PayloadError naming the field paths (``[3].occurredAt``), never a
    value; nothing but PayloadError leaves this function.
    """
    try:
        return _read(body)
    except PayloadError:
        raise
    except Exception:  # never a crash on odd input: unreadable is unreadable
        raise PayloadError("HubSpot webhook body could not be read") from None


def _read(body: bytes) -> list[HubSpotEvent]:
    try:
        data = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PayloadError("HubSpot webhook body is not valid UTF-8 JSON") from None
    if not isinstance(data, list):
        raise PayloadError("HubSpot webhook body is not a JSON array")
    if len(data) > facts.MAX_BATCH_EVENTS:
        raise PayloadError(f"HubSpot webhook body holds more than {facts.MAX_BATCH_EVENTS} events")
    try:
        events = _BATCH.validate_python(data)
    except pydantic.ValidationError as exc:
        raise PayloadError(_problems(exc)) from None
    unique: dict[str, HubSpotEvent] = {}
    for event in events:
        unique.setdefault(event.key, event)
    return list(unique.values())


def _problems(exc: pydantic.ValidationError) -> str:
    paths = sorted({_path(e["loc"]) for e in exc.errors(include_input=False)})
    return "HubSpot webhook body: missing or invalid " + ", ".join(paths)


def _path(loc: tuple[int | str, ...]) -> str:
    """``(3, "occurredAt")`` → ``[3].occurredAt``; the union branch names pydantic adds for
    ``Id | None`` (``int``, ``none``) are dropped."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in {"int", "none", "str", "constrained-int", "constrained-str"}:
            continue
        else:
            text += f".{part}" if text else part
    return text or "<root>"
