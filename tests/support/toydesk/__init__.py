"""ToyDesk: a toy fourth help desk that plugs into Baton only through ``core/plugin.py``.

Load it with ``BATON_PLUGINS=tests.support.toydesk:plugin``. Its mapping and catalog live in
``mappings/`` here; :func:`mappings_with_toydesk` makes a mappings folder holding Baton's
defaults plus ToyDesk's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from baton.core.packaged import MAPPINGS_PACKAGE, packaged_folder
from tests.support.toydesk.plugin import plugin

__all__ = ["MAPPINGS", "mappings_with_toydesk", "plugin"]

MAPPINGS = Path(__file__).resolve().parent / "mappings"
"""ToyDesk's own ``toydesk.yaml`` and ``catalogs/toydesk.json``."""


def mappings_with_toydesk(target: Path) -> Path:
    """Copy Baton's default mappings folder to ``target``, add ToyDesk's files; ``target``."""
    shutil.copytree(
        packaged_folder(MAPPINGS_PACKAGE),
        target,
        ignore=shutil.ignore_patterns("__init__.py", "__pycache__"),
        dirs_exist_ok=True,
    )
    shutil.copy2(MAPPINGS / "toydesk.yaml", target / "toydesk.yaml")
    shutil.copy2(MAPPINGS / "catalogs" / "toydesk.json", target / "catalogs" / "toydesk.json")
    return target
