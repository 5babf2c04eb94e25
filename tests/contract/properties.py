"""The properties the contract suite proves for every platform (the reliability property ids).

Each contract test carries ``@pytest.mark.property("<id>")``; a harness may opt out of an id
here, with a reason, and nothing else. An id with a suffix is one case of a property.
"""

from __future__ import annotations

PROPERTIES: dict[str, str] = {
    "mapping": "a handoff lands as the mapping says, with or without a customer email",
    "A1": "a changed byte, a wrong secret, a missing or malformed header → 401, nothing stored",
    "A3": "known-answer vector; the sandbox's own signed webhooks verify and read",
    "A4": "two-sided timestamp window: −299 s accepted, −301 s and +301 s rejected",
    "A5": "whatever headers and bytes: never a 500, the verifier raises only VerificationError",
    "A6": "secret rotation: either secret verifies, a removed one is rejected",
    "B1-reply": "a person's public reply is told once (one reply, one ticket.replied) by the "
    "healing sync, run twice; a private note or the customer's message never",
    "B1-reply-webhook": "a public reply's webhook tells it at once; the healing sync after "
    "it tells it no second time",
    "D1": "one event delivered 10 times → ten 2xx, one inbox row, one disposition",
    "D4": "a stale event after a newer one does not roll the disposition back",
    "D5": "a batch with one failing item → after redelivery one effect per item",
    "K4": "after days of lost webhooks one sync run matches the platform",
    "O1": "an answer lost after the commit: the retry links to the one ticket",
    "O2": "an idempotent retry makes one ticket, across restarts",
    "O3": "two tickets claiming one handoff are a conflict",
    "O3-key": "a reused idempotency key with another body is a conflict",
    "O5": "two workers draining 100 handoffs → 100 distinct tickets",
    "O6": "429/5xx/reset retryable (Retry-After kept), bad credentials access denied",
    "O7": "a crash between create and commit leaves one Baton note",
    "O7-note": "a crash after the separate note leaves one Baton note",
    "O8": "every handoff answered 2xx becomes a ticket",
    "S1": "rerunning from the saved cursor yields nothing again",
    "S1-page": "a run stopped after a page resumes without repeats",
    "S3": "a ticket updated after a run shows up in the next run",
    "S4": "an empty page that is not the end: the next link is followed",
    "sync": "sync reports outcomes and metrics as webhooks do",
}
