"""O7's machinery: a note posted on its own opens with a marker naming its handoff, which
survives HTML escaping and the note fitter, and a retry posts the note only when no note of
the ticket carries it (a first attempt makes no look-up at all)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from baton.connectors.base import post_note_once
from baton.core.handoff import HANDOFF_ID_PATTERN, parse_handoff
from baton.core.mapping import load_mapping, plan_requests
from baton.core.mapping.limits import SizeLimit
from baton.core.mapping.note import carries_note_marker, note_marker
from tests.support.paths import MAPPINGS
from tests.support.paths import VIP_REFUND as EXAMPLE

HANDOFF_IDS = st.from_regex(HANDOFF_ID_PATTERN.removesuffix("$") + r"\Z", fullmatch=True)


@given(handoff_id=HANDOFF_IDS, html=st.booleans())
def test_the_marker_survives_html_escaping_and_names_only_its_handoff(
    handoff_id: str, html: bool
) -> None:
    marker = note_marker(handoff_id, html=html)
    assert carries_note_marker(str(escape(marker)), handoff_id)  # stored escaped: still found
    assert carries_note_marker(f"<div>{marker}</div>", handoff_id)
    assert not carries_note_marker(marker, handoff_id + "x")
    assert not carries_note_marker(marker.replace(handoff_id, handoff_id[:-1] + "~"), handoff_id)


@settings(max_examples=25, deadline=None)
@given(turns=st.integers(min_value=0, max_value=40), size=st.integers(1, 20_000))
def test_the_separate_note_opens_with_its_marker_however_long_the_transcript(
    turns: int, size: int
) -> None:
    document = json.loads(EXAMPLE.read_bytes())
    message = {"role": "customer", "text": "x" * size, "at": "2026-11-01T10:00:00Z"}
    document["transcript"] = [message] * turns
    handoff = parse_handoff(json.dumps(document).encode())
    for platform in ("salesforce", "hubspot"):
        mapping = load_mapping(MAPPINGS, platform)
        note = plan_requests(mapping, handoff).requests[-1].json
        body = str(note.get("CommentBody") or note["properties"]["hs_note_body"])
        assert body.startswith(note_marker(handoff.id, html=mapping.plugin.note_is_html))
        assert mapping.note_limit.measure(body) <= mapping.note_limit.amount


def test_a_note_in_the_create_carries_no_marker() -> None:
    handoff = parse_handoff(EXAMPLE.read_bytes())
    [create] = plan_requests(load_mapping(MAPPINGS, "zendesk"), handoff).requests
    assert not carries_note_marker(create.json["ticket"]["comment"]["html_body"], handoff.id)


class _Notes:
    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.reads = 0
        self.posts = 0

    def read(self) -> list[str]:
        self.reads += 1
        return list(self.texts)

    def post(self) -> None:
        self.posts += 1


def test_a_first_attempt_posts_without_looking() -> None:
    notes = _Notes([note_marker("h-1", html=True)])
    assert post_note_once("h-1", first_attempt=True, existing_notes=notes.read, post=notes.post)
    assert (notes.reads, notes.posts) == (0, 1)


def test_a_retry_finds_its_note_and_does_not_post_it_again() -> None:
    notes = _Notes(["an agent's comment", "<p>[Baton handoff h-1]</p>\n<p>context</p>"])
    posted = post_note_once("h-1", first_attempt=False, existing_notes=notes.read, post=notes.post)
    assert not posted
    assert (notes.reads, notes.posts) == (1, 0)


def test_a_retry_posts_when_only_other_handoffs_notes_are_there() -> None:
    notes = _Notes([note_marker("h-10", html=False), "an agent's comment"])
    assert post_note_once("h-1", first_attempt=False, existing_notes=notes.read, post=notes.post)
    assert (notes.reads, notes.posts) == (1, 1)


@given(
    text=st.text(),
    marker=st.text(max_size=80),
    amount=st.integers(min_value=0, max_value=120),
    unit=st.sampled_from(["chars", "bytes"]),
)
def test_a_cut_always_holds_its_limit_even_when_the_marker_does_not_fit(
    text: str, marker: str, amount: int, unit: str
) -> None:
    limit = SizeLimit(amount, unit)
    assert limit.measure(limit.cut(text, marker)) <= amount
