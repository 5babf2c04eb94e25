"""Every platform's contract harness, and what each declares it cannot prove."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tests.contract.harness import HarnessFactory
from tests.contract.harness_hubspot import HubSpotHarness, hubspot_harness
from tests.contract.harness_salesforce import SalesforceHarness, salesforce_harness
from tests.contract.harness_toydesk import ToydeskHarness, toydesk_harness
from tests.contract.harness_zendesk import ZendeskHarness, zendesk_harness
from tests.contract.properties import PROPERTIES


@dataclass(frozen=True)
class Registered:
    """How to start a platform's harness, its opt-outs (property id → reason: it cannot), and
    its known gaps (property id → what is missing: it should, and does not yet). A gap's tests
    run as strict xfails: they must fail, so the gap is proven and its fix cannot go unnoticed.
    """

    start: HarnessFactory
    opt_outs: Mapping[str, str]
    known_gaps: Mapping[str, str] = field(default_factory=dict)


HARNESSES: dict[str, Registered] = {
    "zendesk": Registered(zendesk_harness, ZendeskHarness.opt_outs),
    "salesforce": Registered(salesforce_harness, SalesforceHarness.opt_outs),
    "hubspot": Registered(hubspot_harness, HubSpotHarness.opt_outs),
    "toydesk": Registered(toydesk_harness, ToydeskHarness.opt_outs),
}

TEST_PLUGINS = {"toydesk": "tests.support.toydesk:plugin"}
"""Platforms that come from a test plugin (``BATON_PLUGINS``), and the plugin to load."""


def unknown_opt_outs() -> list[str]:
    """``platform: id`` for every opt-out or known gap naming a property the suite does not
    know."""
    return [
        f"{platform}: {pid}"
        for platform, registered in HARNESSES.items()
        for pid in [*registered.opt_outs, *registered.known_gaps]
        if pid not in PROPERTIES
    ]
