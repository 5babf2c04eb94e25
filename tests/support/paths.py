"""Where the repository's shipped files are, for tests: its root, the mappings and catalogs,
and the example handoffs."""

from __future__ import annotations

from pathlib import Path

from baton.core.handoff import Handoff, parse_handoff

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
CATALOGS = MAPPINGS / "catalogs"
EXAMPLES = ROOT / "examples" / "handoffs"
VIP_REFUND = EXAMPLES / "01-vip-refund-dispute.json"
EXPLICIT_HUMAN = EXAMPLES / "02-explicit-human-request.json"
FAILED_IDENTITY = EXAMPLES / "04-failed-identity-check.json"


def catalog_path(platform: str) -> Path:
    """The shipped catalog of ``platform`` (``mappings/catalogs/<platform>.json``)."""
    return CATALOGS / f"{platform}.json"


def example_files() -> list[Path]:
    """Every example handoff file, sorted by name."""
    return sorted(EXAMPLES.glob("*.json"))


def example_handoff(path: Path = VIP_REFUND) -> Handoff:
    """The example handoff in ``path`` (default: the VIP refund dispute), parsed."""
    return parse_handoff(path.read_bytes())
