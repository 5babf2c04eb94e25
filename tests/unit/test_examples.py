"""The shipped example handoffs parse, and each one is the scenario its name promises.

The routing rules and the docs rely on these eight files; if a scenario changes, this table
should change with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from baton.core.handoff import Handoff, parse_handoff
from tests.support.paths import EXAMPLES, example_files

EXAMPLE_FILES = example_files()

MIN_TRANSCRIPT_TURNS = 6


@dataclass(frozen=True)
class Scenario:
    file: str
    intent: str
    tier: str
    triggers: tuple[str, ...]
    priority: str
    language: str = "en"


SCENARIOS = [
    Scenario(
        "01-vip-refund-dispute.json",
        intent="billing.refund_dispute",
        tier="vip",
        triggers=("high_value", "sentiment"),
        priority="high",
    ),
    Scenario(
        "02-explicit-human-request.json",
        intent="orders.missing_item",
        tier="standard",
        triggers=("explicit_request",),
        priority="normal",
    ),
    Scenario(
        "03-regulated-complaint.json",
        intent="compliance.complaint",
        tier="standard",
        triggers=("regulatory", "policy"),
        priority="urgent",
    ),
    Scenario(
        "04-failed-identity-check.json",
        intent="account.change_email",
        tier="standard",
        triggers=("authentication", "risk"),
        priority="high",
    ),
    Scenario(
        "05-repeated-troubleshooting-bug.json",
        intent="product.bug",
        tier="pro",
        triggers=("repeated_failure", "complexity"),
        priority="normal",
    ),
    Scenario(
        "06-spanish-speaking-customer.json",
        intent="billing.invoice_question",
        tier="standard",
        triggers=("policy", "low_confidence"),
        priority="normal",
        language="es",
    ),
    Scenario(
        "07-cancellation-threat-high-value.json",
        intent="account.cancel",
        tier="enterprise",
        triggers=("high_value", "sentiment"),
        priority="urgent",
    ),
    Scenario(
        "08-howto-low-confidence.json",
        intent="product.howto",
        tier="free",
        triggers=("low_confidence",),
        priority="low",
    ),
]


def load(path: Path) -> Handoff:
    return parse_handoff(path.read_bytes())


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_parses(path: Path) -> None:
    handoff = load(path)

    assert handoff.transcript
    assert all(message.at is not None for message in handoff.transcript)


def test_example_ids_are_unique() -> None:
    ids = [load(path).id for path in EXAMPLE_FILES]

    assert len(ids) == len(set(ids))


def test_every_scenario_has_a_file_and_every_file_a_scenario() -> None:
    assert sorted(s.file for s in SCENARIOS) == [p.name for p in EXAMPLE_FILES]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.file.removesuffix(".json"))
def test_scenario_matches_its_expectations(scenario: Scenario) -> None:
    handoff = load(EXAMPLES / scenario.file)

    assert handoff.intent == scenario.intent
    assert handoff.customer.tier == scenario.tier
    assert handoff.trigger_kinds == list(scenario.triggers)
    assert handoff.priority == scenario.priority
    assert handoff.language == scenario.language
    assert handoff.routing.language == scenario.language


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.file.removesuffix(".json"))
def test_scenario_is_complete_enough_for_a_human(scenario: Scenario) -> None:
    handoff = load(EXAMPLES / scenario.file)

    assert len(handoff.transcript) >= MIN_TRANSCRIPT_TURNS
    assert handoff.facts
    assert handoff.actions_taken
    assert all(action.outcome for action in handoff.actions_taken)
    assert handoff.next_steps
    assert all(trigger.detail and trigger.score is not None for trigger in handoff.triggers)
