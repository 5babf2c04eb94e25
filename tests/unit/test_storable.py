"""core.storable (RELIABILITY K5): what it calls storable is exactly what both databases hold.

The pure properties run on generated text from every code point, NUL and lone surrogates
included; the last test proves the definition against SQLite and PostgreSQL themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from baton.core.storable import REPLACEMENT, is_storable, storable, unstorable_reason

UNSTORABLE_CHAR = st.one_of(st.just("\x00"), st.characters(categories=["Cs"]))
ANY_TEXT = st.text(st.one_of(st.characters(), UNSTORABLE_CHAR), max_size=80)
NUL_REASON = "contains a NUL character (U+0000), which cannot be stored"
SURROGATE_REASON = "contains a lone surrogate (U+D800 to U+DFFF), which is not valid Unicode text"


@given(text=ANY_TEXT)
@example(text="a\x00b")
@example(text="\ud83d\ude00")  # a surrogate *pair* as two lone code points is still unstorable
def test_k5_storable_text_is_always_storable_and_keeps_its_length(text: str) -> None:
    """K5: ``storable`` always yields storable text, replacing one character by one."""
    repaired = storable(text)
    assert is_storable(repaired)
    assert len(repaired) == len(text)
    assert repaired.encode("utf-8").decode("utf-8") == repaired  # strict: no lone surrogate


@given(text=ANY_TEXT)
def test_k5_storable_changes_only_unstorable_characters(text: str) -> None:
    """K5: each character is kept unless it is NUL or a lone surrogate, which becomes U+FFFD;
    so storable text comes back unchanged (ordinary ids keep working)."""
    repaired = storable(text)
    for original, kept in zip(text, repaired, strict=True):
        unstorable = original == "\x00" or 0xD800 <= ord(original) <= 0xDFFF
        assert kept == (REPLACEMENT if unstorable else original)
    assert (repaired == text) == is_storable(text)


@given(text=ANY_TEXT)
@example(text="secret\x00payload")
def test_k5_the_reason_is_none_exactly_for_storable_text_and_never_quotes_it(text: str) -> None:
    """K5: ``unstorable_reason`` is None iff the text is storable; otherwise it is one of two
    fixed sentences (naming the first offending kind), so it can never quote the input."""
    reason = unstorable_reason(text)
    assert (reason is None) == is_storable(text)
    if reason is not None:
        first = next(c for c in text if c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF)
        assert reason == (NUL_REASON if first == "\x00" else SURROGATE_REASON)


@pytest.fixture
def engine(database: Any) -> Iterator[sa.Engine]:
    """An engine on an empty database of each backend."""
    built = sa.create_engine(database.url, **database.engine_kwargs)
    try:
        yield built
    finally:
        built.dispose()


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=ANY_TEXT)
@example(text="a\x00b")
@example(text="\udfff")
@example(text="ordinary-id_1")
def test_k5_storable_text_round_trips_through_both_databases(engine: sa.Engine, text: str) -> None:
    """K5: every storable text — and so every ``storable(text)`` — goes into a text value and
    comes back unchanged, on SQLite and PostgreSQL."""
    repaired = storable(text)
    with engine.connect() as connection:
        back = connection.execute(sa.text("SELECT CAST(:v AS TEXT)"), {"v": repaired}).scalar()
    assert back == repaired
