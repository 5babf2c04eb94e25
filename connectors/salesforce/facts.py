"""Salesforce facts Baton's mapping relies on, in one place (checked against Salesforce's docs).

Anything marked UNCONFIRMED is an assumption not yet checked against the vendor; correct it
here and nowhere else.
"""

from __future__ import annotations

from typing import Final

PLATFORM: Final = "salesforce"
PRIORITY_FIELD: Final = "Priority"
STATUS_FIELD: Final = "Status"
SUBJECT_MAX_CHARS: Final = 255
DESCRIPTION_MAX_CHARS: Final = 32_000
COMMENT_MAX_BYTES: Final = 4_000  # CaseComment.CommentBody
DEFAULT_API_VERSION: Final = "61.0"
