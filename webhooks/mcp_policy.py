"""The deployment's escalation policy in words, for the MCP resource ``baton://escalation-policy``.

Read from the same mappings folder the service uses (``BATON_MAPPINGS_DIR``, ``./mappings``, or
the packaged defaults): when to escalate (the trigger kinds) and, per platform, the routing
rules in order (first match wins), the default route and the backup. It tells a model where a
handoff will land and what decides it, so that it fills in the fields the rules read.
"""

from __future__ import annotations

from pathlib import Path

from baton.core.mapping import CompiledMapping, load_mapping
from baton.core.mapping.spec import Sla, When
from baton.core.plugin import registry
from baton.webhooks.mcp_schema import TRIGGER_GUIDANCE

POLICY_URI = "baton://escalation-policy"

_CONDITION_WORDS: dict[str, str] = {
    "intent": "the intent is",
    "trigger": "a trigger is",
    "tier": "the customer's tier is",
    "language": "the language is",
    "channel": "the channel is",
    "priority": "the priority is",
}


def load_policy_mappings(folder: Path) -> list[CompiledMapping]:
    """Every registered platform's mapping found in ``folder``, in registry order.

    A mapping that does not load raises its :class:`~baton.core.errors.MappingError`.
    """
    return [
        load_mapping(folder, name)
        for name in registry().names
        if (folder / f"{name}.yaml").exists()
    ]


def describe_when(when: When) -> str:
    """``intent: billing.*, tier: [vip, enterprise]`` → ``the intent is billing.* and the
    customer's tier is vip or enterprise``."""
    parts = []
    for field, words in _CONDITION_WORDS.items():
        value = getattr(when, field)
        if value is None:
            continue
        values = [value] if isinstance(value, str) else list(value)
        parts.append(f"{words} {' or '.join(values)}")
    return " and ".join(parts)


def _describe_sla(sla: Sla | None) -> str:
    if sla is None:
        return ""
    targets = [
        f"{label} within {value}"
        for label, value in (("first response", sla.first_response), ("resolution", sla.resolution))
        if value is not None
    ]
    return f" (target: {', '.join(targets)})"


def _platform_section(mapping: CompiledMapping) -> list[str]:
    title = mapping.plugin.title
    lines = [f"## {title}", "", "Routing rules, in order; the first that matches decides:", ""]
    for number, route in enumerate(mapping.routes, start=1):
        lines.append(
            f"{number}. {route.name}: when {describe_when(route.when)}, "
            f"to {route.target.label}{_describe_sla(route.sla)}."
        )
    lines += [
        "",
        f"When no rule matches: {mapping.default.label}"
        f"{_describe_sla(mapping.spec.routing.default.sla)}.",
    ]
    if mapping.backup is not None:
        lines.append(f"When {title} refuses the chosen target: {mapping.backup.label}.")
    return [*lines, ""]


def policy_text(mappings: list[CompiledMapping]) -> str:
    """The escalation policy as Markdown (see the module docstring)."""
    lines = [
        "# Escalation policy",
        "",
        "Escalate with the `escalate_to_human` tool when one of these holds; give each that "
        "holds as a trigger, the strongest first:",
        "",
        *(f"- `{kind}`: {when}." for kind, when in TRIGGER_GUIDANCE.items()),
        "",
        "Tell the customer a person will take over, and do not answer them while "
        "`handoff_status` says a human holds the conversation.",
        "",
        "The routing rules below read the handoff's intent, triggers, customer tier, language, "
        "channel and priority: fill them in truthfully and the handoff reaches the right people.",
        "",
    ]
    for mapping in mappings:
        lines += _platform_section(mapping)
    if not mappings:
        lines.append("No platform mapping is configured in this deployment.")
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["POLICY_URI", "describe_when", "load_policy_mappings", "policy_text"]
