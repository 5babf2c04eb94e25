"""``baton mappings summary``: every example handoff through every mapping, as a table.

Nothing is sent: this shows where each platform would route each example, what it would
receive, and what was masked on the way out.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from baton.core.errors import BatonError
from baton.core.handoff import Handoff, parse_handoff
from baton.core.mapping import Plan, load_mapping, plan_requests
from baton.core.plugin import registry

MASK = re.compile(r"\[(card|ssn|iban|secret)\b")


def load_examples(folder: Path) -> list[tuple[str, Handoff]]:
    """Every ``*.json`` handoff in ``folder``, sorted by name; any invalid file is an error."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise BatonError(f"{folder}: no example handoffs (*.json) found")
    loaded = []
    for file in files:
        try:
            loaded.append((file.name, parse_handoff(file.read_bytes())))
        except BatonError as exc:
            raise BatonError(f"{file}: {exc}") from None
    return loaded


def _note_size(plan: Plan) -> int:
    for request in plan.requests:
        body = request.json
        note = (
            body.get("ticket", {}).get("comment", {}).get("html_body")
            or body.get("CommentBody")
            or body.get("properties", {}).get("hs_note_body")
        )
        if note:
            return len(note)
    return 0


def _resource(path: str) -> str:
    """``/services/data/v61.0/sobjects/Case/Field/id`` → ``Case/Field/…``, for a narrow column."""
    short = re.sub(r"^/(api/v2|services/data/v[0-9.]+/sobjects|crm/v3/objects)/", "", path)
    parts = short.split("/")
    return "/".join(parts[:2]) + ("/…" if len(parts) > 2 else "")


def _table(platform: str, rows: list[tuple[str, Handoff, Plan]]) -> Table:
    calls = " + ".join(f"{r.method} {_resource(r.path)}" for r in rows[0][2].requests)
    table = Table(
        title=f"{platform}: {len(rows)} tickets planned, each {calls}",
        title_justify="left",
        caption=f"note: the internal note's size; {platform}'s limit applies",
        caption_justify="left",
    )
    table.add_column("#", no_wrap=True)
    table.add_column("intent", no_wrap=True)
    table.add_column("priority", no_wrap=True)
    table.add_column("routed by rule")
    table.add_column("to")
    table.add_column("note", justify="right", no_wrap=True)
    for name, handoff, plan in rows:
        table.add_row(
            name.split("-")[0],
            handoff.intent,
            handoff.priority,
            plan.route,
            plan.target,
            f"{_note_size(plan):,}",
        )
    return table


def print_plan_summary(examples: Path, mappings: Path, console: Console) -> None:
    """Plan every example for every platform and print a readable summary."""
    handoffs = load_examples(examples)
    masks: Counter[str] = Counter()
    warnings: list[str] = []
    platforms = [p for p in registry().names if (mappings / f"{p}.yaml").exists()]
    if not platforms:
        raise BatonError(f"no mapping files in {mappings}; run 'baton init' or pass --mappings")
    for platform in platforms:
        mapping = load_mapping(mappings, platform)
        rows = []
        for name, handoff in handoffs:
            plan = plan_requests(mapping, handoff)
            rows.append((name, handoff, plan))
            text = json.dumps([r.json for r in plan.requests], ensure_ascii=False)
            masks.update(MASK.findall(text))
            warnings += [f"{platform} {handoff.id}: {w}" for w in plan.warnings]
        console.print(_table(platform, rows))
        console.print()
    masked = ", ".join(f"{count} {kind}" for kind, count in sorted(masks.items())) or "nothing"
    console.print(
        f"[bold]{len(handoffs)} handoffs × {len(platforms)} platforms = "
        f"{len(handoffs) * len(platforms)} ticket plans[/]; nothing was sent."
    )
    console.print(f"Masked before leaving Baton, across all plans: {masked}.")
    for warning in warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)
    console.print(
        f"See one in full: [cyan]baton mappings preview --platform {platforms[0]} "
        f"{examples / handoffs[0][0]}[/]"
    )
