"""What ships inside the package, and which folder a command uses.

The wheel carries the default mappings (YAML files, catalogs, note templates, redaction rules,
the published JSON Schema) as ``baton.mappings`` and the example handoffs as
``baton.examples``, so Baton runs from any folder. A mappings folder is chosen in this order:

1. the one given (``--mappings`` or ``BATON_MAPPINGS_DIR``);
2. ``./mappings`` when the working directory has one;
3. the packaged defaults.

Example handoffs likewise: ``--examples``, else ``./examples/handoffs``, else the packaged ones.
Every command says which folder it uses (:meth:`Chosen.describe`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from baton.core.errors import ConfigError

MAPPINGS_PACKAGE = "baton.mappings"
EXAMPLES_PACKAGE = "baton.examples"
LOCAL_MAPPINGS = Path("mappings")
LOCAL_EXAMPLES = Path("examples") / "handoffs"


@dataclass(frozen=True)
class Chosen:
    """A folder and why it was chosen (``given``, ``local`` or ``packaged``)."""

    path: Path
    why: str

    def describe(self, what: str) -> str:
        """One line for start-up output: ``mappings: /x/mappings (./mappings)``."""
        reasons = {
            "given": "given by option or environment",
            "local": "found in the working directory",
            "packaged": "the defaults packaged with Baton",
        }
        return f"{what}: {self.path} ({reasons[self.why]})"


def packaged_folder(package: str) -> Path:
    """The folder of a data package installed with Baton."""
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise ConfigError(f"{package} is not installed with Baton; reinstall the package") from None
    path = Path(str(root))
    if not path.is_dir():
        raise ConfigError(f"{package} is not an unpacked folder ({path}); reinstall the package")
    return path


def choose_mappings(given: Path | None, cwd: Path | None = None) -> Chosen:
    """The mappings folder to use (see the module docstring)."""
    return _choose(given, LOCAL_MAPPINGS, lambda: packaged_folder(MAPPINGS_PACKAGE), cwd)


def choose_examples(given: Path | None, cwd: Path | None = None) -> Chosen:
    """The example handoffs folder to use (see the module docstring)."""
    return _choose(
        given, LOCAL_EXAMPLES, lambda: packaged_folder(EXAMPLES_PACKAGE) / "handoffs", cwd
    )


def _choose(
    given: Path | None, local: Path, packaged: Callable[[], Path], cwd: Path | None
) -> Chosen:
    if given is not None:
        return Chosen(given, "given")
    found = (cwd or Path.cwd()) / local
    if found.is_dir():
        return Chosen(local if cwd is None else found, "local")
    return Chosen(packaged(), "packaged")
