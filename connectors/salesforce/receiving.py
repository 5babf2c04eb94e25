"""What comes back from Salesforce without Baton asking for a case: Outbound Messages (checked
by their secret path and organisation, read into events) and the ``deleted/`` page that ends
each sync run."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from baton.connectors.salesforce import facts, outbound
from baton.connectors.salesforce.auth import SalesforceSettings
from baton.connectors.salesforce.http import SalesforceClient
from baton.connectors.salesforce.sync import SyncCursor, soql_datetime
from baton.connectors.salesforce.values import CaseReading, case_disposition, timestamp
from baton.core.disposition import Disposition
from baton.core.errors import PayloadError, VerificationError
from baton.core.ports import ChangePage, WebhookEvent


def verify_outbound(settings: SalesforceSettings, body: bytes, url: str) -> None:
    """VerificationError unless ``url`` ends in one of the configured secret path segments
    (every one compared, no early exit) and the message's OrganizationId is the org's."""
    segment = urlsplit(url).path.rstrip("/").rpartition("/")[2].encode()
    matched = False
    for secret in settings.webhook_paths:
        matched |= hmac.compare_digest(segment, secret.get_secret_value().encode())
    if not matched:
        raise VerificationError("unknown webhook path")
    if settings.organization_id is None:
        raise VerificationError(f"{facts.ENV_ORGANIZATION_ID} is not set")
    outbound.verify_organization(body, [settings.organization_id])


def outbound_events(
    body: bytes, reading: CaseReading, ticket_url: Callable[[str], str]
) -> list[WebhookEvent]:
    """One event per Notification, with its disposition when the message carries the fields
    one needs, else the case to read again after the acknowledgement (no platform call here:
    this runs before it)."""
    message = outbound.read_outbound_message(body)
    events: list[WebhookEvent] = []
    for notification in message.notifications:
        fields = {"Id": notification.case_id, **notification.fields}
        occurred_at = timestamp(fields.get(facts.CASE_MODSTAMP)) or timestamp(
            fields.get(facts.CASE_LAST_MODIFIED)
        )
        if occurred_at is None:
            raise PayloadError("a notification carries neither SystemModstamp nor LastModifiedDate")
        disposition = None
        if not reading.lacks(fields):
            disposition = case_disposition(
                fields,
                reading,
                ticket_url=ticket_url,
                source="webhook",
                event_id=notification.notification_id,
            )
        # Without the fields a disposition needs, the case is read again after the ack.
        again = notification.case_id if disposition is None else None
        events.append(
            WebhookEvent(notification.notification_id, occurred_at, disposition, reread=again)
        )
    return events


def deletions_page(
    client: SalesforceClient,
    position: SyncCursor,
    since: datetime,
    now: datetime,
    ticket_url: Callable[[str], str],
) -> ChangePage:
    """``deleted/`` up to ``now``, or to the org's time when its newest SystemModstamp is
    later (clocks differ); the next window starts at the answer's latestDateCovered."""
    end = max(now.astimezone(UTC), position.modstamp + timedelta(minutes=1))
    end = end.replace(microsecond=0)
    oldest = end - timedelta(days=facts.DELETED_MAX_DAYS) + timedelta(minutes=1)
    start = max(position.deleted_until or since.astimezone(UTC), oldest)
    if end - start < timedelta(minutes=1):  # deleted/ ignores seconds: nothing new yet
        return ChangePage([], position.encode(), True)
    answer = client.get_json(
        client.api_path("sobjects/Case/deleted/"),
        {"start": soql_datetime(start), "end": soql_datetime(end)},
    )
    covered = timestamp(answer.get("latestDateCovered")) if isinstance(answer, dict) else None
    done = replace(position, deleted_until=min(covered or end, end))
    rows = answer.get("deletedRecords") if isinstance(answer, dict) else None
    dispositions = []
    for row in rows if isinstance(rows, list) else []:
        case_id = row.get("id") if isinstance(row, dict) else None
        deleted_at = timestamp(row.get("deletedDate")) if isinstance(row, dict) else None
        if isinstance(case_id, str) and deleted_at is not None:
            dispositions.append(
                Disposition(
                    platform=facts.PLATFORM,
                    ticket_id=case_id,
                    ticket_url=ticket_url(case_id),
                    outcome="deleted",
                    occurred_at=deleted_at,
                    source="sync",
                )
            )
    return ChangePage(dispositions, done.encode(), True, len(dispositions))
