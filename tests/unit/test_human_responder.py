"""The human-responder half of a handoff: a suggested reply and the articles the AI consulted.

Every platform's note shows them in sections of their own, redacted like the rest of the
handoff, and inside the platform's note limit; an HTML note links an article only when its
URL is http(s) (a ``javascript:`` one stays text); bad articles are refused naming the field.
"""

from __future__ import annotations

import pytest

from baton.core.errors import ValidationError
from baton.core.handoff import Handoff, validate_handoff
from baton.core.mapping import load_mapping, plan_requests
from tests.contract.helpers import new_handoff
from tests.support.paths import MAPPINGS

CARD = "4111 1111 1111 1111"
ARTICLES = [
    {"title": "Refunds for duplicate charges", "url": "https://help.example.com/refunds?id=7"},
    {"title": "Disputes & chargebacks", "url": "http://kb.example.com/disputes"},
]


def _responder(handoff: Handoff, reply: str, articles: list[dict[str, str]]) -> Handoff:
    document = handoff.model_dump(mode="json")
    document.update(suggested_reply=reply, knowledge=articles)
    return validate_handoff(document)


def _note(platform: str, handoff: Handoff) -> str:
    plan = plan_requests(load_mapping(MAPPINGS, platform), handoff)
    if platform == "zendesk":
        return str(plan.requests[0].json["ticket"]["comment"]["html_body"])
    if platform == "salesforce":
        return str(plan.requests[1].json["CommentBody"])
    return str(plan.requests[1].json["properties"]["hs_note_body"])


@pytest.mark.parametrize("platform", ["zendesk", "salesforce", "hubspot"])
def test_every_note_shows_the_reply_and_the_articles_redacted(platform: str) -> None:
    reply = f"Hi Dana, I've refunded the duplicate charge on card {CARD}. Sorry!"
    note = _note(platform, _responder(new_handoff(), reply, ARTICLES))
    assert "refunded the duplicate charge" in note
    assert CARD not in note
    assert "1111 1111" not in note
    assert "Refunds for duplicate charges" in note
    assert "kb.example.com/disputes" in note
    heading = "Suggested reply" if platform != "salesforce" else "SUGGESTED REPLY"
    assert heading in note


@pytest.mark.parametrize("platform", ["zendesk", "salesforce", "hubspot"])
def test_a_long_reply_and_ten_articles_stay_inside_the_note_limit(platform: str) -> None:
    articles = [
        {"title": f"Article {n} " + "x" * 280, "url": f"https://kb.example.com/{n}/" + "p" * 1_900}
        for n in range(10)
    ]
    handoff = _responder(new_handoff(), "A long draft. " * 350, articles)
    mapping = load_mapping(MAPPINGS, platform)
    note = _note(platform, handoff)
    assert mapping.note_limit.measure(note) <= mapping.note_limit.amount


def test_an_html_note_links_only_http_urls() -> None:
    articles = [
        {"title": "Safe", "url": "https://kb.example.com/safe"},
        {"title": "Scripted", "url": "javascript:alert(1)"},
    ]
    note = _note("zendesk", _responder(new_handoff(), "Draft.", articles))
    assert '<a href="https://kb.example.com/safe">Safe</a>' in note
    assert 'href="javascript' not in note
    assert "Scripted (javascript:alert(1))" in note


@pytest.mark.parametrize(
    ("articles", "path"),
    [
        ([{"title": "x", "url": ""}], "knowledge[0].url"),
        ([{"title": "", "url": "https://kb.example.com"}], "knowledge[0].title"),
        ([{"title": "t", "url": "https://kb.example.com"}] * 11, "knowledge"),
    ],
)
def test_bad_articles_are_refused_naming_the_field(
    articles: list[dict[str, str]], path: str
) -> None:
    document = new_handoff().model_dump(mode="json")
    document["knowledge"] = articles
    with pytest.raises(ValidationError) as refused:
        validate_handoff(document)
    assert path in str(refused.value)
