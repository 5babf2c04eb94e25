"""``baton init``: a starter mappings folder for an ops team to edit.

Copies the packaged defaults (the YAML mappings, catalogs, note templates, redaction rules and
the JSON Schema editors use) into ``<dir>/mappings`` and the settings template into
``<dir>/.env.example``. Nothing is ever overwritten: if any file it would write exists, it
writes nothing and says which.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from baton.core.errors import BatonError
from baton.core.packaged import LOCAL_MAPPINGS, MAPPINGS_PACKAGE, packaged_folder

ENV_TEMPLATE = "env.example"
_NOT_COPIED = {"__init__.py", "__pycache__", ENV_TEMPLATE}


def starter_files(source: Path) -> list[Path]:
    """The files of the packaged mappings folder that a starter copy holds (relative)."""
    return sorted(
        path.relative_to(source)
        for path in source.rglob("*")
        if path.is_file() and not _NOT_COPIED & set(path.relative_to(source).parts)
    )


def write_starter(directory: Path) -> list[Path]:
    """Write ``<directory>/mappings/…`` and ``<directory>/.env.example``; the paths written.

    Raises BatonError, writing nothing, when any of those files already exists.
    """
    source = packaged_folder(MAPPINGS_PACKAGE)
    plan = [(source / name, directory / LOCAL_MAPPINGS / name) for name in starter_files(source)]
    plan.append((source / ENV_TEMPLATE, directory / ".env.example"))
    existing = [target for _, target in plan if target.exists()]
    if existing:
        shown = ", ".join(str(path) for path in existing[:3])
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise BatonError(f"not overwriting {shown}{more}; move them away or pick another folder")
    for origin, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, target)
    return [target for _, target in plan]
