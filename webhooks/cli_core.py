"""The root of the ``baton`` command line, its shared options, and the commands that need only
the engine (mappings validate/preview/summary, schema, db upgrade, init).

The CLI is the top layer, so it lives here and not in ``core``; ``baton.webhooks.cli`` adds the
commands that drive connectors and the service. Exit codes: 0 success; 2 bad input (invalid
mapping, handoff or file), with one clear message and no traceback; 1 anything unexpected.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from dotenv import load_dotenv
from rich.console import Console

from baton.core.errors import BatonError
from baton.core.packaged import choose_examples, choose_mappings

# Models, the mapping engine and the store are imported by the commands that use them, so
# that `baton --help` starts fast (benchmarks/cli_startup.py).
if TYPE_CHECKING:
    from baton.core.handoff import Handoff

app = typer.Typer(
    help="Baton: hand AI-agent conversations to the human help desk, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _read_dotenv() -> None:
    """Runs before every command: a ``.env`` file in the working directory fills in settings
    the environment does not set (the environment wins)."""
    load_dotenv(Path.cwd() / ".env", override=False)


mappings_app = typer.Typer(help="Check and preview the mapping files ops teams edit.")
app.add_typer(mappings_app, name="mappings")
db_app = typer.Typer(help="The store: SQLite by default, PostgreSQL by BATON_DATABASE_URL.")
app.add_typer(db_app, name="db")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

MappingsDir = Annotated[
    Path | None,
    typer.Option(
        "--mappings",
        envvar="BATON_MAPPINGS_DIR",
        help="Folder with <platform>.yaml, catalogs/ and templates/ "
        "(default: ./mappings when present, else the defaults packaged with Baton).",
        file_okay=False,
    ),
]


ExamplesDir = Annotated[
    Path | None,
    typer.Option(
        "--examples",
        help="Folder of example handoffs (default: ./examples/handoffs when present, else "
        "the packaged examples).",
        file_okay=False,
    ),
]


DEFAULT_BASE_PORT = 8601
SandboxPortsOption = Annotated[
    str,
    typer.Option(
        "--sandbox-ports",
        help="Sandbox ports: a base port (each platform's sandbox takes the next, in "
        "`baton platforms` order; 0 picks free ones) or name=port pairs, e.g. zendesk=8601.",
    ),
]


def mappings_folder(given: Path | None, *, editable: bool = False) -> Path:
    """The mappings folder a command uses (core.packaged); says which on stderr unless given.

    ``editable``: the command writes into it, so the packaged defaults will not do.
    """
    chosen = choose_mappings(given)
    if editable and chosen.why == "packaged":
        raise BatonError(
            "no mappings folder here to write into: run 'baton init' to create ./mappings, "
            "or pass --mappings"
        )
    if chosen.why != "given":
        err.print(chosen.describe("mappings"), highlight=False, markup=False)
    return chosen.path


def examples_folder(given: Path | None) -> Path:
    """The example handoffs folder a command uses; says which on stderr unless given."""
    chosen = choose_examples(given)
    if chosen.why != "given":
        err.print(chosen.describe("examples"), highlight=False, markup=False)
    return chosen.path


def known_platform(value: str | None) -> str | None:
    """A ``--platform`` value checked against the registry (plugins included)."""
    if value is None:
        return None
    from baton.core.plugin import registry

    try:
        platforms = registry()
    except BatonError as exc:
        raise typer.BadParameter(str(exc)) from None
    if value not in platforms:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(platforms.names)}")
    return value


PlatformName = Annotated[
    str,
    typer.Option(
        "--platform",
        callback=known_platform,
        help="A registered platform (`baton platforms` lists them).",
    ),
]
OptionalPlatform = Annotated[
    str | None,
    typer.Option(
        "--platform",
        callback=known_platform,
        help="Only this platform (`baton platforms` lists them).",
    ),
]


class SchemaName(StrEnum):
    """Documents whose JSON Schema Baton publishes."""

    handoff = "handoff"
    disposition = "disposition"
    mapping = "mapping"
    report = "report"
    feedback = "feedback"


_SCHEMA_BUILDERS = {
    SchemaName.handoff: "baton.core.handoff:handoff_json_schema",
    SchemaName.disposition: "baton.core.disposition:disposition_json_schema",
    SchemaName.mapping: "baton.core.mapping:mapping_json_schema",
    SchemaName.report: "baton.core.learning.report:report_json_schema",
    SchemaName.feedback: "baton.core.learning.feedback:feedback_json_schema",
}


def bad_input_exits_2(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Baton's own errors into one message on stderr and exit code 2."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except BatonError as exc:
            from rich.markup import escape

            # Escaped: a message may hold brackets (``baton-handoff[parquet]``, a field path).
            err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
            raise typer.Exit(2) from None

    return wrapper


def read_handoff(path: Path) -> Handoff:
    """Read and validate a handoff file; a missing or unreadable file is a BatonError."""
    from baton.core.handoff import parse_handoff

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BatonError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BatonError(f"{path}: is a folder, not a handoff file") from None
    try:
        return parse_handoff(raw)
    except BatonError as exc:
        raise BatonError(f"{path}: {exc}") from None


@mappings_app.command("validate")
@bad_input_exits_2
def validate(mappings: MappingsDir = None) -> None:
    """Check every mapping file offline: shape, names, templates. Exit 2 on any problem."""
    from baton.core.mapping import validate_mappings

    mappings = mappings_folder(mappings)
    found, problems = validate_mappings(mappings)
    if problems:
        for problem in problems:
            err.print(f"{mappings.name}/{problem}", highlight=False, markup=False)
        err.print(f"[bold red]{len(problems)} problem(s)[/] in {mappings}", highlight=False)
        raise typer.Exit(2)
    out.print(f"[green]ok[/] {', '.join(f'{p}.yaml' for p in found)} in {mappings}")


@mappings_app.command("preview")
@bad_input_exits_2
def preview(
    handoff_file: Annotated[Path, typer.Argument(metavar="HANDOFF.json")],
    platform: PlatformName,
    mappings: MappingsDir = None,
) -> None:
    """Print the exact HTTP requests a handoff would produce (secrets masked). Sends nothing."""
    from baton.core.mapping import load_mapping, plan_requests

    handoff = read_handoff(handoff_file)
    mapping = load_mapping(mappings_folder(mappings), platform)
    plan = plan_requests(mapping, handoff)
    document = {
        "platform": plan.platform,
        "route": plan.route,
        "target": plan.target,
        "requests": [request.as_dict() for request in plan.requests],
        "warnings": plan.warnings,
    }
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


@app.command("schema")
def schema(name: Annotated[SchemaName, typer.Argument(help="Which document.")]) -> None:
    """Print the JSON Schema of a handoff, a disposition, a mapping file, the report or a
    feedback record."""
    import importlib

    # Only the chosen document's module is imported: the report's pulls in the store.
    module, function = _SCHEMA_BUILDERS[name].split(":")
    build = getattr(importlib.import_module(module), function)
    sys.stdout.write(json.dumps(build(), indent=2, ensure_ascii=False) + "\n")


@db_app.command("upgrade")
@bad_input_exits_2
def db_upgrade() -> None:
    """Create or upgrade the schema (Alembic migrations) in BATON_DATABASE_URL."""
    from baton.core.database import open_store
    from baton.core.settings import database_url, masked_url

    open_store().close()
    out.print(f"[green]ok[/] schema is current in {masked_url(database_url())}", highlight=False)


@mappings_app.command("summary")
@bad_input_exits_2
def summary(examples: ExamplesDir = None, mappings: MappingsDir = None) -> None:
    """Render every example handoff for every platform and summarise (nothing is sent)."""
    from baton.core.plan_summary import print_plan_summary

    print_plan_summary(examples_folder(examples), mappings_folder(mappings), out)


@app.command("init")
@bad_input_exits_2
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to write mappings/ and .env.example.", file_okay=False)
    ] = Path(),
) -> None:
    """Write a starter mappings/ folder (and .env.example) to edit; never overwrites."""
    from baton.core.starter import write_starter

    written = write_starter(directory)
    out.print(
        f"[green]wrote[/] {len(written)} files: {directory / 'mappings'} and "
        f"{directory / '.env.example'}. Edit them, then run 'baton mappings validate'.",
        highlight=False,
    )


@app.command("platforms")
@bad_input_exits_2
def platforms() -> None:
    """List the platforms Baton knows (built in, entry points, BATON_PLUGINS) and their state."""
    import os

    from rich.table import Table

    from baton.core.plugin import has_settings, registry

    known = registry()
    table = Table(box=None, pad_edge=False)
    for column in ("platform", "source", "delivers", "sandbox", "settings"):
        table.add_column(column, no_wrap=True)
    for plugin in known:
        origin = "built-in" if plugin.name in known.built_in else "plugin"
        enabled = "set" if has_settings(plugin, os.environ) else "not set"
        table.add_row(
            plugin.name,
            origin,
            "yes" if plugin.delivers else "not yet",
            "yes" if plugin.has_sandbox else "no",
            f"{plugin.settings_prefix}* {enabled}",
        )
    out.print(table)
