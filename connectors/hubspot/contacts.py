"""The customer's HubSpot contact, found (or created) by email and remembered.

A ticket is associated with the contact whose email the handoff's customer gave (under the
mapping's ``unverified_requester`` rule, as every platform's requester). Looking a contact up
costs one search; a contact not there yet one more call to create it. For a batch (``baton
backfill``), one search (``IN``, up to 100 emails) and one batch create serve 100 emails.
Ids are remembered per connection (the last ``CACHE_SIZE`` emails), so a known customer costs
nothing more. ``lookups`` counts the calls spent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)

from baton.connectors.hubspot import facts
from baton.connectors.hubspot.http import HubSpotClient
from baton.core.errors import IdempotencyConflict

CACHE_SIZE = 10_000


class ContactBook:
    """Contact ids by email (case-insensitive), looked up once per connection."""

    def __init__(self, client: HubSpotClient, size: int = CACHE_SIZE) -> None:
        self.client = client
        self.size = size
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.lookups = 0  # API calls spent finding or creating contacts

    def contact_id(self, email: str | None) -> str | None:
        """The id of the contact with ``email``, created when there is none; None for None."""
        if not email:
            return None
        key = email.strip().casefold()
        with self._lock:
            if key in self._ids:
                self._ids.move_to_end(key)
                return self._ids[key]
        found = self._search(key)
        if found is None:
            try:
                found = self._create(email.strip())
            except IdempotencyConflict:  # created meanwhile (another worker): read it
                found = self._search(key)
        if found is not None:
            with self._lock:
                self._ids[key] = found
                while len(self._ids) > self.size:
                    self._ids.popitem(last=False)
        return found

    def contact_ids(self, emails: list[str]) -> dict[str, str]:
        """Contact ids for many emails (keys casefolded): the unknown ones searched 100 at a
        time, the missing ones created 100 at a time (a 409 or a refused row: searched again
        one by one)."""
        wanted = sorted({e.strip().casefold() for e in emails if e and e.strip()})
        with self._lock:
            found = {e: self._ids[e] for e in wanted if e in self._ids}
        unknown = [e for e in wanted if e not in found]
        for start in range(0, len(unknown), facts.BATCH_MAX_INPUTS):
            found.update(self._search_many(unknown[start : start + facts.BATCH_MAX_INPUTS]))
        missing = [e for e in unknown if e not in found]
        for start in range(0, len(missing), facts.BATCH_MAX_INPUTS):
            found.update(self._create_many(missing[start : start + facts.BATCH_MAX_INPUTS]))
        for email in [e for e in missing if e not in found]:
            one = self.contact_id(email)
            if one is not None:
                found[email] = one
        with self._lock:
            for email, contact in found.items():
                self._ids[email] = contact
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)
        return found

    def _search_many(self, emails: list[str]) -> dict[str, str]:
        search = self.client.sdk.crm.contacts.search_api
        body = PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "email", "operator": "IN", "values": emails}]}
            ],
            properties=["email"],
            limit=facts.SEARCH_MAX_LIMIT,
        )
        self.lookups += 1
        return _by_email(
            self.client.call(lambda: search.do_search(public_object_search_request=body))
        )

    def _create_many(self, emails: list[str]) -> dict[str, str]:
        batch = self.client.sdk.crm.contacts.batch_api
        body = BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"email": e}, "associations": []} for e in emails]
        )
        self.lookups += 1
        try:
            answer = self.client.call(lambda: batch.create(body))
        except IdempotencyConflict:
            return {}  # some exist already: the caller looks the rest up one by one
        return _by_email(answer)

    def _search(self, email: str) -> str | None:
        search = self.client.sdk.crm.contacts.search_api
        body = PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}
            ],
            properties=["email"],
            limit=1,
        )
        self.lookups += 1
        page = self.client.call(lambda: search.do_search(public_object_search_request=body))
        results = page.results or []
        return str(results[0].id) if results else None

    def _create(self, email: str) -> str:
        basic = self.client.sdk.crm.contacts.basic_api
        self.lookups += 1
        body = SimplePublicObjectInputForCreate(properties={"email": email})
        return str(self.client.call(lambda: basic.create(body)).id)


def _by_email(answer: Any) -> dict[str, str]:
    """A search or batch answer's contacts: id by casefolded email."""
    return {
        str(c.properties["email"]).casefold(): str(c.id)
        for c in answer.results or []
        if (c.properties or {}).get("email")
    }
