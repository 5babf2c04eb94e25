"""Every platform's contract harness, and what each declares it cannot prove."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tests.contract.harness import HarnessFactory
from tests.contract.harness_toydesk import ToydeskHarness, toydesk_harness
from tests.contract.harness_zendesk import ZendeskHarness, zendesk_harness
from tests.contract.properties import PROPERTIES


@dataclass(frozen=True)
class Registered:
    """How to start a platform's harness, and its opt-outs (property id → reason)."""

    start: HarnessFactory
    opt_outs: Mapping[str, str]


HARNESSES: dict[str, Registered] = {
    "zendesk": Registered(zendesk_harness, ZendeskHarness.opt_outs),
    "toydesk": Registered(toydesk_harness, ToydeskHarness.opt_outs),
}

TEST_PLUGINS = {"toydesk": "tests.support.toydesk:plugin"}
"""Platforms that come from a test plugin (``BATON_PLUGINS``), and the plugin to load."""


def unknown_opt_outs() -> list[str]:
    """``platform: id`` for every opt-out naming a property the suite does not know."""
    return [
        f"{platform}: {pid}"
        for platform, registered in HARNESSES.items()
        for pid in registered.opt_outs
        if pid not in PROPERTIES
    ]
