"""The Tickets API's writes on the sandbox account: create (one, idempotent, many) and update,
with the comments, audits, metrics bookkeeping and webhook events they produce."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from baton.sandbox.zendesk.account import Account
from baton.sandbox.zendesk.errors import ZendeskError, record_invalid
from baton.sandbox.zendesk.events import ticket_events
from baton.sandbox.zendesk.facts import (
    BLANK_DESCRIPTION,
    CLOSED_PREVENTS_UPDATE,
    CREATE_MANY_MAX,
    IDEMPOTENCY_MISMATCH,
    IDEMPOTENCY_MISMATCH_STATUS,
    MERGE_CLOSED_TICKET,
    MERGE_JOB_TYPE,
    MERGE_SOURCE_COMMENT,
    MERGE_TARGET_COMMENT,
    MERGED_TAG,
    NOT_FOUND,
    PARAMETER_MISSING,
    TAGS_SPLIT_ON_WHITESPACE,
    TOO_MANY_VALUES,
    TOO_MANY_VALUES_STATUS,
)
from baton.sandbox.zendesk.model import Comment, IdempotencyRecord, Json, Ticket, iso


def _split_tags(raw: Any) -> list[str]:
    values = raw if isinstance(raw, list) else [raw]
    tags: list[str] = []
    for value in values:
        text = str(value).lower()
        parts = text.split() if TAGS_SPLIT_ON_WHITESPACE else [text.strip()]
        tags.extend(p for p in parts if p and p not in tags)
    return tags


class TicketDesk(Account):
    """The account plus ticket creation and update; the middle layer of ``ZendeskState``."""

    def create_ticket(self, data: Any, base: str) -> Json:
        """Validate and create a ticket; returns ``{ticket, audit}`` or raises ``ZendeskError``."""
        if not isinstance(data, dict):
            raise ZendeskError(400, PARAMETER_MISSING)
        with self.lock:
            raw_comment = data.get("comment")
            comment: Json = raw_comment if isinstance(raw_comment, dict) else {}
            body = comment.get("body") or comment.get("html_body") or data.get("description")
            details: Json = {}
            if not isinstance(body, str) or not body.strip():
                details["base"] = [dict(BLANK_DESCRIPTION)]
            details.update(self._validate_enums(data, creating=True))
            details.update(self._validate_assignment(data.get("assignee_id"), data.get("group_id")))
            custom, custom_details = self._validate_custom_fields(data.get("custom_fields"))
            for key, entries in custom_details.items():
                details.setdefault(key, []).extend(entries)
            requester_id, requester_details = self._resolve_requester(data)
            details.update(requester_details)
            if details or requester_id is None:
                raise record_invalid(details)
            ticket = self._new_ticket(data, str(body), requester_id, custom)
            audit = self._add_comment(ticket, comment, str(body), requester_id, data)
            self._record_assignment(ticket, None, None)
            self.tickets[ticket.id] = ticket
            self._emit(ticket, None, created=True, comment=ticket.comments[-1])
            return {"ticket": ticket.to_json(base), "audit": audit}

    def _new_ticket(
        self, data: Json, body: str, requester_id: int, custom: dict[int, Any]
    ) -> Ticket:
        now = self.clock()
        status = data.get("status") or ("open" if data.get("assignee_id") else "new")
        tags = _split_tags(data.get("tags") or [])
        tags.extend(self._tagger_tags(custom, tags))
        external_id = data.get("external_id")
        ticket = Ticket(
            id=next(self._ticket_ids),
            subject=data.get("subject") or body[:80],
            description=body,
            status=status,
            priority=data.get("priority"),
            type=data.get("type"),
            requester_id=requester_id,
            submitter_id=self.api_user.id,
            assignee_id=data.get("assignee_id"),
            group_id=data.get("group_id"),
            tags=tags,
            custom_fields=dict.fromkeys(self.ticket_fields) | custom,
            external_id=None if external_id is None else str(external_id),
            created_at=now,
            updated_at=now,
            seq=next(self._seq),
        )
        ticket.metrics.status_updated_at = now
        if status == "solved":
            ticket.metrics.solved_times.append(now)
        return ticket

    def _tagger_tags(self, custom: dict[int, Any], existing: list[str]) -> list[str]:
        extra = []
        for fid, value in custom.items():
            if self.ticket_fields[fid].type == "tagger" and value and value not in existing:
                extra.append(str(value))
        return extra

    def _add_comment(
        self, ticket: Ticket, comment: Json, body: str, author_id: int, data: Json
    ) -> Json:
        audit_id = self._next_id()
        html = comment.get("html_body") or f"<p>{body}</p>"
        public = comment.get("public", True) is not False
        requested = comment.get("author_id")
        author = requested if isinstance(requested, int) and requested in self.users else author_id
        entry = Comment(self._next_id(), author, body, html, public, audit_id, self.clock())
        ticket.comments.append(entry)
        self._count_reply(ticket, entry)
        return {
            "id": audit_id,
            "ticket_id": ticket.id,
            "created_at": iso(entry.created_at),
            "author_id": author,
            "metadata": {"system": {"client": "sandbox"}, "custom": data.get("metadata") or {}},
            "events": [
                {
                    "id": entry.id,
                    "type": "Comment",
                    "author_id": author,
                    "body": body,
                    "html_body": html,
                    "public": public,
                    "attachments": [],
                }
            ],
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
        }

    def _count_reply(self, ticket: Ticket, entry: Comment) -> None:
        ticket.metrics.latest_comment_added_at = entry.created_at
        is_reply = entry.public and self.is_agent(entry.author_id) and len(ticket.comments) > 1
        if is_reply:
            ticket.metrics.replies += 1
            if ticket.metrics.first_reply_at is None:
                ticket.metrics.first_reply_at = entry.created_at

    def _record_assignment(
        self, ticket: Ticket, old_group: int | None, old_assignee: int | None
    ) -> None:
        now = self.clock()
        if ticket.group_id is not None and ticket.group_id != old_group:
            ticket.metrics.group_stations += 1
        if ticket.assignee_id is not None and ticket.assignee_id != old_assignee:
            ticket.metrics.assignee_stations += 1
            ticket.metrics.assigned_at = now
            if ticket.metrics.initially_assigned_at is None:
                ticket.metrics.initially_assigned_at = now

    def _set_status(self, ticket: Ticket, status: str) -> None:
        if status == ticket.status:
            return
        now = self.clock()
        if ticket.status in ("solved", "closed") and status not in ("solved", "closed"):
            ticket.metrics.reopens += 1
        if status == "solved":
            ticket.metrics.solved_times.append(now)
        ticket.status = status
        ticket.metrics.status_updated_at = now

    def update_ticket(self, ticket_id: int, data: Any, base: str) -> Json:
        """Apply a PUT; returns ``{ticket, audit}`` or raises ``ZendeskError``."""
        if not isinstance(data, dict):
            raise ZendeskError(400, PARAMETER_MISSING)
        with self.lock:
            ticket = self.ticket(ticket_id)
            if ticket.status == "closed":
                raise record_invalid({"status": [dict(CLOSED_PREVENTS_UPDATE)]})
            details = self._validate_enums(data, creating=False)
            group_id = data.get("group_id", ticket.group_id)
            assignee_id = data.get("assignee_id", ticket.assignee_id)
            if "group_id" in data or "assignee_id" in data:
                details.update(self._validate_assignment(assignee_id, group_id))
            custom, custom_details = self._validate_custom_fields(data.get("custom_fields"))
            details.update(custom_details)
            comment = data.get("comment") if isinstance(data.get("comment"), dict) else None
            body = None if comment is None else comment.get("body") or comment.get("html_body")
            if comment is not None and (not isinstance(body, str) or not body.strip()):
                details.setdefault("base", []).append(dict(BLANK_DESCRIPTION))
            if details:
                raise record_invalid(details)
            before = ticket.snapshot()
            self._apply_update(ticket, data, group_id, assignee_id, custom)
            audit = self._update_audit(ticket, comment, body, data)
            self._touch(ticket)
            self._emit(ticket, before, comment=ticket.comments[-1] if comment else None)
            return {"ticket": ticket.to_json(base), "audit": audit}

    def _apply_update(
        self, ticket: Ticket, data: Json, group_id: Any, assignee_id: Any, custom: dict[int, Any]
    ) -> None:
        old_group, old_assignee = ticket.group_id, ticket.assignee_id
        ticket.group_id, ticket.assignee_id = group_id, assignee_id
        self._record_assignment(ticket, old_group, old_assignee)
        for key in ("subject", "priority", "type"):
            if key in data:
                setattr(ticket, key, data[key])
        if "external_id" in data:
            ticket.external_id = None if data["external_id"] is None else str(data["external_id"])
        if "tags" in data:
            ticket.tags = _split_tags(data["tags"] or [])
        ticket.custom_fields.update(custom)
        ticket.tags.extend(self._tagger_tags(custom, ticket.tags))
        status = data.get("status")
        if status is None and assignee_id is not None and ticket.status == "new":
            status = "open"
        if status is not None:
            self._set_status(ticket, status)

    def _update_audit(self, ticket: Ticket, comment: Json | None, body: Any, data: Json) -> Json:
        if comment is not None:
            return self._add_comment(ticket, comment, str(body), self.api_user.id, data)
        return {
            "id": self._next_id(),
            "ticket_id": ticket.id,
            "created_at": iso(self.clock()),
            "author_id": self.api_user.id,
            "metadata": {"system": {}, "custom": data.get("metadata") or {}},
            "events": [],
        }

    def list_tickets(self, external_id: str | None = None) -> list[Ticket]:
        """Live tickets in id order, optionally filtered by external_id."""
        with self.lock:
            tickets = [t for t in self.tickets.values() if not t.deleted]
        if external_id is not None:
            tickets = [t for t in tickets if t.external_id == external_id]
        return sorted(tickets, key=lambda t: t.id)

    # ---- idempotency -----------------------------------------------------------------------

    def idempotent_create(
        self, key: str, raw_body: bytes, data: Any, base: str
    ) -> tuple[Json, str]:
        """Create under ``Idempotency-Key``: (response, "hit" | "miss")."""
        fingerprint = hashlib.sha256(raw_body).hexdigest()
        with self.lock:
            now = self.clock()
            record = self._idempotency.get(key)
            if record is not None and record.expires_at > now:
                if record.fingerprint != fingerprint:
                    raise ZendeskError(IDEMPOTENCY_MISMATCH_STATUS, IDEMPOTENCY_MISMATCH)
                return record.response, "hit"
            response = self.create_ticket(data, base)
            expires = now + timedelta(seconds=self.idempotency_ttl)
            self._idempotency[key] = IdempotencyRecord(fingerprint, response, expires)
            return response, "miss"

    # ---- bulk ------------------------------------------------------------------------------

    def create_many(self, items: Any, base: str) -> Json:
        """Queue a bulk create (≤ 100) and run it; returns the queued job_status."""
        if not isinstance(items, list) or not items:
            raise ZendeskError(400, PARAMETER_MISSING)
        if len(items) > CREATE_MANY_MAX:
            raise ZendeskError(TOO_MANY_VALUES_STATUS, TOO_MANY_VALUES)
        results = []
        for index, item in enumerate(items):
            try:
                created = self.create_ticket(item, base)
                results.append({"index": index, "id": created["ticket"]["id"]})
            except ZendeskError as exc:
                results.append({"index": index, "error": exc.body.get("error"), **exc.body})
        return self._finished_job("ThreadedBulkCreateTickets", results, base)

    # ---- merging ---------------------------------------------------------------------------

    def merge(self, target_id: int, data: Any, base: str = "") -> Json:
        """Merge the tickets ``data["ids"]`` into ``target_id``; returns the queued job_status.

        Each source ticket gets ``source_comment`` (private unless ``source_comment_is_public``),
        the ``closed_by_merge`` tag and status closed; the target gets ``target_comment``. The
        job is done at once (its status reads ``completed``). A closed source or target is
        refused (422), an unknown one is a 404, a request without ``ids`` a 400.
        """
        ids = data.get("ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not ids or not all(type(i) is int for i in ids):
            raise ZendeskError(
                400, {**PARAMETER_MISSING, "description": "Parameter ids is required"}
            )
        with self.lock:
            target = self.ticket(target_id)
            sources = [self.ticket(i) for i in dict.fromkeys(ids) if i != target_id]
            if any(t.status == "closed" for t in [target, *sources]):
                raise record_invalid({"status": [dict(MERGE_CLOSED_TICKET)]})
            results = []
            for source in sources:
                self._merge_one(source, target, data)
                results.append(
                    {"action": "update", "id": source.id, "status": "Updated", "success": True}
                )
            return self._finished_job(MERGE_JOB_TYPE, results, base)

    def _merge_one(self, source: Ticket, target: Ticket, data: Json) -> None:
        agent = self.api_user.id
        comments = (
            (
                source,
                "source_comment",
                MERGE_SOURCE_COMMENT.format(target=target.id, subject=target.subject or ""),
            ),
            (
                target,
                "target_comment",
                MERGE_TARGET_COMMENT.format(source=source.id, subject=source.subject or ""),
            ),
        )
        for ticket, key, default in comments:
            before = ticket.snapshot()
            given = data.get(key)
            body = given if isinstance(given, str) and given.strip() else default
            public = data.get(f"{key}_is_public") is True
            self._add_comment(
                ticket, {"body": body, "public": public, "author_id": agent}, body, agent, {}
            )
            if ticket is source:
                if MERGED_TAG not in ticket.tags:
                    ticket.tags.append(MERGED_TAG)
                self._set_status(ticket, "closed")
            self._touch(ticket)
            self._emit(ticket, before, comment=ticket.comments[-1])

    def _finished_job(self, job_type: str, results: list[Json], base: str) -> Json:
        """Record a job that is already done; the queued job_status its request answers."""
        job_id = uuid.uuid4().hex
        url = f"{base}/api/v2/job_statuses/{job_id}.json"
        queued = {
            "id": job_id,
            "url": url,
            "job_type": job_type,
            "total": len(results),
            "progress": None,
            "status": "queued",
            "message": None,
            "results": None,
        }
        with self.lock:
            self.jobs[job_id] = {
                **queued,
                "progress": len(results),
                "status": "completed",
                "message": "Completed at " + str(iso(self.clock())),
                "results": results,
            }
        return queued

    def job_status(self, job_id: str) -> Json:
        """A job status or 404."""
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise ZendeskError(404, NOT_FOUND)
        return job

    # ---- webhook events --------------------------------------------------------------------

    def _emit(
        self,
        ticket: Ticket,
        before: Json | None,
        *,
        created: bool = False,
        deleted: bool = False,
        comment: Comment | None = None,
    ) -> None:
        """Queue the webhook events of a change to ``ticket`` (``before``: its old snapshot)."""
        author = None if comment is None else self.users.get(comment.author_id)
        events = ticket_events(
            ticket,
            before,
            created=created,
            deleted=deleted,
            comment=comment,
            author=None if author is None else (author.name, self.is_agent(author.id)),
            account_id=self.account_id,
            actor_id=self.api_user.id,
            now=self.clock(),
        )
        for event in events:
            self.webhooks.enqueue(event)
