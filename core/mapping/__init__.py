"""The mapping engine: YAML files ops teams edit → the exact requests a handoff produces.

load_mapping(dir, platform)      read, check and compile one platform's mapping
validate_mappings(dir)           every problem in every mapping file of a folder
plan_requests(mapping, handoff)  the HTTP requests for one handoff (nothing is sent)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from baton.core.catalog import load_catalog
from baton.core.errors import MappingError, Problem
from baton.core.handoff import Handoff
from baton.core.mapping.compiler import CompiledMapping, compile_mapping
from baton.core.mapping.render import draft_ticket
from baton.core.mapping.source import mapping_json_schema, parse_spec, read_yaml
from baton.core.mapping.wire import PlannedRequest
from baton.core.plugin import registry
from baton.core.redact import Redactor, default_redactor, load_rules

REDACTION_FILE = "redaction.yaml"

__all__ = [
    "CompiledMapping",
    "Plan",
    "PlannedRequest",
    "load_mapping",
    "mapping_json_schema",
    "plan_requests",
    "validate_mappings",
]


def _compile(directory: Path, platform: str) -> tuple[CompiledMapping | None, list[Problem]]:
    platforms = registry()
    plugin = platforms.get(platform)
    file = directory / f"{platform}.yaml"
    source, problems = read_yaml(file)
    if source is None:
        return None, problems
    spec, shape_problems = parse_spec(source, platforms)
    problems += shape_problems
    if spec is None:
        return None, problems
    if spec.platform != platform:
        problems.append(source.problem(["platform"], f"this file is for {platform}"))
        return None, problems
    try:
        catalog = load_catalog(directory / "catalogs" / f"{platform}.json")
    except MappingError as exc:
        return None, [*problems, *(_in_catalogs(p) for p in exc.problems)]
    templates = directory / "templates"
    compiled, compile_problems = compile_mapping(source, spec, catalog, templates, plugin)
    problems += compile_problems
    redactor, redaction_problems = _redactor(directory)
    problems += redaction_problems
    if problems or compiled is None:
        return None, problems
    return replace(compiled, redactor=redactor), []


def _redactor(directory: Path) -> tuple[Redactor, list[Problem]]:
    """The built-in redaction plus the folder's ``redaction.yaml`` rules, when it has one."""
    rules_file = directory / REDACTION_FILE
    if not rules_file.exists():
        return default_redactor(), []
    try:
        return Redactor(load_rules(rules_file)), []
    except MappingError as exc:
        return default_redactor(), list(exc.problems)


def _in_catalogs(problem: Problem) -> Problem:
    return Problem(problem.path, problem.message, f"catalogs/{problem.file}", problem.line)


def load_mapping(directory: Path, platform: str) -> CompiledMapping:
    """Read, check and compile ``<directory>/<platform>.yaml`` against its catalog.

    Raises MappingError listing every problem with file, line and path, ConfigError when no
    plugin registers ``platform``.
    """
    compiled, problems = _compile(directory, platform)
    if problems or compiled is None:
        raise MappingError(problems)
    return compiled


def validate_mappings(directory: Path) -> tuple[list[str], list[Problem]]:
    """Check every ``<platform>.yaml`` in ``directory``: the platforms found, and all problems."""
    known = registry().names
    found = [p for p in known if (directory / f"{p}.yaml").exists()]
    if not found:
        names = ", ".join(f"{p}.yaml" for p in known)
        fix = "run 'baton init' to write starter mappings there, or pass --mappings"
        return [], [Problem("", f"no mapping files ({names}) in {directory}; {fix}")]
    problems: list[Problem] = []
    for platform in found:
        problems += _compile(directory, platform)[1]
    # Every platform shares redaction.yaml: report its problems once, not once per platform.
    return found, list(dict.fromkeys(problems))


@dataclass(frozen=True)
class Plan:
    """What a handoff would become on one platform: route, requests, warnings."""

    platform: str
    route: str
    target: str
    requests: list[PlannedRequest]
    warnings: list[str]


def plan_requests(
    mapping: CompiledMapping,
    handoff: Handoff,
    *,
    redactor: Redactor | None = None,
    use_backup: bool = False,
) -> Plan:
    """The exact requests ``handoff`` produces through ``mapping``; nothing is sent.

    Redaction uses ``redactor`` when given, else the mapping folder's rules.
    """
    draft = draft_ticket(
        mapping, handoff, redactor=redactor or mapping.redactor, use_backup=use_backup
    )
    requests = mapping.plugin.build_requests(draft, mapping)
    return Plan(mapping.platform, draft.route, draft.target.label, requests, draft.warnings)
