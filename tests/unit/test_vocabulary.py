"""Strict about structure, lenient about vocabulary.

An unknown trigger kind, channel or transcript role is accepted as ``other``, the word as sent
is kept and shown in the note, and each change is listed for the 202's warnings. Types, sizes
and ids stay strict (422). Words are generated, not picked.
"""

from __future__ import annotations

import copy
import functools
import html
import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from baton.core.errors import ValidationError
from baton.core.handoff import (
    CHANNELS,
    MAX_VOCABULARY_WORD_CHARS,
    ROLES,
    TRIGGER_KINDS,
    Platform,
    handoff_json_schema,
    normalisations,
    parse_handoff,
    report_token,
)
from baton.core.mapping import CompiledMapping, load_mapping, plan_requests
from baton.core.redact import default_redactor
from tests.support.paths import MAPPINGS

KNOWN = {*TRIGGER_KINDS, *CHANNELS, *ROLES}

BASE: dict[str, Any] = {
    "id": "vocab-1",
    "created_at": "2026-11-21T10:00:00Z",
    "conversation_id": "conv-vocab",
    "channel": "chat",
    "intent": "billing.refund",
    "triggers": [{"kind": "explicit_request"}],
    "summary": "Wants a person.",
    "transcript": [{"role": "customer", "text": "a human please"}],
}

# Words an LLM might invent: letters, digits, separators, any case, some non-ASCII.
words = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_- éü"),
    min_size=1,
    max_size=MAX_VOCABULARY_WORD_CHARS,
).filter(lambda w: w.strip() and "  " not in w)


@functools.cache
def _mapping(platform: Platform) -> CompiledMapping:
    return load_mapping(MAPPINGS, platform)


def _canonical(word: str) -> str:
    return "_".join(word.strip().casefold().replace("-", " ").split())


def _with(word: str, where: str) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    if where == "kind":
        doc["triggers"].append({"kind": word})
    elif where == "channel":
        doc["channel"] = word
    else:
        doc["transcript"][0]["role"] = word
    return doc


@settings(max_examples=200, deadline=None)
@given(word=words, where=st.sampled_from(["kind", "channel", "role"]))
def test_an_unknown_word_is_accepted_as_other_warned_and_kept_for_the_note(
    word: str, where: str
) -> None:
    """Unknown vocabulary: accepted as 'other', the original word kept, a warning per change,
    and the word shown in every platform's note (unless redaction masks it)."""
    assume(_canonical(word) not in KNOWN)
    assume(default_redactor().redact(word) == word)
    handoff = parse_handoff(json.dumps(_with(word, where)))
    kept = {
        "kind": (handoff.triggers[-1].kind, handoff.triggers[-1].original_kind),
        "channel": (handoff.channel, handoff.original_channel),
        "role": (handoff.transcript[0].role, handoff.transcript[0].original_role),
    }[where]
    assert kept == ("other", word)
    [warning] = normalisations(handoff)
    assert warning.path == {"kind": "triggers[1].kind", "channel": "channel"}.get(
        where, "transcript[0].role"
    )
    # Warnings never quote the agent's input: the message is the same whatever the word.
    [fixed] = normalisations(parse_handoff(json.dumps(_with("zzz_fixed_word", where))))
    assert warning.message == fixed.message
    for platform in ("zendesk", "salesforce", "hubspot"):
        plan = plan_requests(_mapping(platform), handoff)
        notes = json.dumps([r.json for r in plan.requests], ensure_ascii=False)
        assert html.escape(word, quote=False) in notes or word in notes, platform


@settings(max_examples=100, deadline=None)
@given(word=st.sampled_from(sorted(KNOWN - {"other"})), style=st.sampled_from(["upper", "dash"]))
def test_a_known_word_in_another_spelling_is_the_known_word_without_other(
    word: str, style: str
) -> None:
    """'Explicit-Request' is explicit_request: fixed quietly, not turned into 'other'."""
    spelled = word.upper() if style == "upper" else word.replace("_", "-").title()
    where = "kind" if word in TRIGGER_KINDS else "channel" if word in CHANNELS else "role"
    handoff = parse_handoff(json.dumps(_with(spelled, where)))
    assert not normalisations(handoff)
    assert word in (handoff.triggers[-1].kind, handoff.channel, handoff.transcript[0].role)


STRUCTURAL = st.one_of(
    st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2), st.floats()
)


@settings(max_examples=100, deadline=None)
@given(value=STRUCTURAL, where=st.sampled_from(["kind", "channel", "role"]))
def test_a_word_of_the_wrong_type_is_still_refused_with_its_path(value: Any, where: str) -> None:
    """Structure stays strict: a non-string kind, channel or role is a 422 naming the field."""
    with pytest.raises(ValidationError) as caught:
        parse_handoff(json.dumps(_with(value, where)))
    paths = {p.path for p in caught.value.problems}
    expected = {"kind": "triggers[1]", "channel": "channel", "role": "transcript[0]"}[where]
    assert any(path.startswith(expected) for path in paths), paths


@settings(max_examples=50, deadline=None)
@given(extra=st.integers(1, 500), where=st.sampled_from(["kind", "channel", "role"]))
def test_an_overlong_unknown_word_is_refused(extra: int, where: str) -> None:
    """Sizes stay strict: an unknown word longer than the limit is refused, not cut."""
    word = "w" * (MAX_VOCABULARY_WORD_CHARS + extra)
    with pytest.raises(ValidationError) as caught:
        parse_handoff(json.dumps(_with(word, where)))
    assert word not in str(caught.value)


@given(word=words)
def test_report_token_keeps_only_short_lowercase_tokens(word: str) -> None:
    """Reports and exports count an agent's own word only as a short [a-z0-9_] token."""
    token = report_token("other", word)
    if token != "other":
        assert token == word
        assert len(word) <= 32
        assert set(word) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")
    assert report_token("sentiment", word) == "sentiment"
    assert report_token("other", None) == "other"


def test_the_published_schema_says_unknown_words_are_accepted() -> None:
    """The JSON Schema admits any short string for the three vocabularies and says why."""
    schema = handoff_json_schema()
    kind = schema["$defs"]["Trigger"]["properties"]["kind"]
    assert {"type": "string", "minLength": 1, "maxLength": MAX_VOCABULARY_WORD_CHARS} in kind[
        "anyOf"
    ]
    assert "other" in kind["description"]
    assert "anyOf" in schema["properties"]["channel"]
    assert "anyOf" in schema["$defs"]["Message"]["properties"]["role"]
