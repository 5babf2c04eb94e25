"""Public replies on Salesforce: a page's published CaseComments written by people working the
case.

A sync page already reads its cases' published CaseComments (:mod:`.activity`, one SOQL query
per 200 cases); the same rows carry what a reply needs through the CreatedBy relationship
(``CreatedBy.Name``, ``CreatedBy.UserType``, ``CreatedBy.Username``), so replies cost no request
of their own. A comment is a reply when it is published, has a body, and its author is an
internal user (``UserType = 'Standard'``, :data:`~.facts.STAFF_USER_TYPE`): a customer writing
through a portal or Experience Cloud site is a portal user (another UserType), and the Automated
Process user is not Standard either. A comment by Baton's own integration user (its login
username, when the settings name one) is never a reply — Baton's note is private anyway.

No webhook carries a CaseComment (Outbound Messages are set up on Case; see ``facts``): a reply
reaches Baton with the sync run that reads its case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from baton.connectors.salesforce import facts
from baton.connectors.salesforce.values import timestamp
from baton.core.replies import PublicReply

# The CaseComment columns a sync page reads (``published_comments_query``).
COMMENT_COLUMNS = (
    facts.COMMENT_ID,
    facts.COMMENT_PARENT,
    facts.COMMENT_BODY,
    facts.CASE_CREATED_DATE,
    facts.COMMENT_AUTHOR_NAME,
    facts.COMMENT_AUTHOR_TYPE,
    facts.COMMENT_AUTHOR_USERNAME,
)


def case_replies(
    comments: Iterable[Mapping[str, Any]], *, integration_user: str | None = None
) -> list[PublicReply]:
    """The public replies by staff among a page's published CaseComment rows (as SOQL
    answers them, ``CreatedBy`` nested); ``integration_user``: Baton's login username."""
    own = integration_user.casefold() if integration_user else None
    found: list[PublicReply] = []
    for row in comments:
        reply = _reply(row, own)
        if reply is not None:
            found.append(reply)
    return found


def _reply(row: Mapping[str, Any], own: str | None) -> PublicReply | None:
    author = row.get(facts.COMMENT_CREATED_BY)
    if not isinstance(author, Mapping) or author.get("UserType") != facts.STAFF_USER_TYPE:
        return None
    username = author.get("Username")
    if own is not None and isinstance(username, str) and username.casefold() == own:
        return None
    comment_id, case_id = row.get(facts.COMMENT_ID), row.get(facts.COMMENT_PARENT)
    body = row.get(facts.COMMENT_BODY)
    at = timestamp(row.get(facts.CASE_CREATED_DATE))
    published = row.get("IsPublished", True) is True  # the query asks for published ones only
    if not (isinstance(comment_id, str) and isinstance(case_id, str)) or at is None:
        return None
    if not published or not isinstance(body, str) or not body.strip():
        return None
    name = author.get("Name")
    return PublicReply(
        platform=facts.PLATFORM,
        ticket_id=case_id,
        reply_id=comment_id,
        author=name if isinstance(name, str) and name.strip() else None,
        body=body,
        created_at=at,
    )
