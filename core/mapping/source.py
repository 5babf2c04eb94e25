"""Reading a mapping file: YAML → checked spec, with every problem located by path and line."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, reduce
from pathlib import Path
from typing import Annotated, Any

import pydantic
import yaml

from baton.core.errors import Problem
from baton.core.mapping.spec import MappingBase
from baton.core.plugin import PlatformPlugin, Registry, registry

PathPart = str | int
# libyaml's parser when PyYAML was built with it (several times faster), else the pure one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def format_path(parts: tuple[PathPart, ...] | list[PathPart]) -> str:
    """``('routing', 'rules', 2, 'group')`` → ``routing.rules[2].group``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class SourceFile:
    """A parsed YAML file and its node tree, for turning paths into line numbers."""

    name: str
    data: Any
    root: yaml.Node | None

    def line_of(self, parts: tuple[PathPart, ...] | list[PathPart]) -> int | None:
        """The 1-based line of the deepest node on ``parts`` that exists."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in parts:
            found = _child(node, part)
            if found is None:
                break
            marker, node = found
            line = marker.start_mark.line + 1
        return line

    def problem(self, parts: tuple[PathPart, ...] | list[PathPart], message: str) -> Problem:
        """A problem at ``parts`` in this file."""
        return Problem(format_path(parts), message, self.name, self.line_of(parts))


def _child(node: yaml.Node | None, part: PathPart) -> tuple[yaml.Node, yaml.Node] | None:
    """The node at ``part`` below ``node``, with the node that marks its line (a key's own)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part], node.value[part]
    return None


def _duplicate_keys(node: yaml.Node, parts: list[PathPart], source: SourceFile) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            if name in seen:
                line = key.start_mark.line + 1
                problems.append(
                    Problem(format_path([*parts, name]), "duplicate key", source.name, line)
                )
            seen.add(name)
            problems += _duplicate_keys(value, [*parts, name], source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, [*parts, index], source)
    return problems


def read_yaml(path: Path) -> tuple[SourceFile | None, list[Problem]]:
    """Parse a YAML file; a syntax error or duplicate key is a located problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fix = "run 'baton init' for starter mappings, or pass --mappings"
        return None, [Problem("", f"file not found in {path.parent}; {fix}", path.name)]
    except UnicodeDecodeError:
        return None, [Problem("", "not UTF-8 text", path.name)]
    try:
        root = yaml.compose(text, Loader=_LOADER)
        # The data is built from the same node tree, so the text is parsed once.
        data = _LOADER("").construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or "invalid YAML"
        return None, [Problem("", f"YAML syntax: {reason}", path.name, line)]
    source = SourceFile(path.name, data, root)
    return source, _duplicate_keys(root, [], source) if root is not None else []


_FRIENDLY = {
    "extra_forbidden": "unknown key",
    "missing": "required",
}


@cache
def _adapter(models: tuple[type[MappingBase], ...]) -> pydantic.TypeAdapter[MappingBase]:
    """One model per platform, chosen by the file's ``platform`` key."""
    if len(models) == 1:
        return pydantic.TypeAdapter(models[0])
    union: Any = reduce(operator.or_, models)
    return pydantic.TypeAdapter(Annotated[union, pydantic.Field(discriminator="platform")])


def _models(plugins: Sequence[PlatformPlugin]) -> tuple[type[MappingBase], ...]:
    return tuple(plugin.mapping_model for plugin in plugins)


def parse_spec(
    source: SourceFile, platforms: Registry | None = None
) -> tuple[MappingBase | None, list[Problem]]:
    """Check the file's shape against its platform's mapping model; every problem with its path."""
    platforms = registry() if platforms is None else platforms
    data = source.data
    if not isinstance(data, dict):
        return None, [source.problem([], "a mapping file is a YAML object with `platform`")]
    platform = data.get("platform")
    if platform not in platforms:
        known = ", ".join(platforms.names)
        return None, [source.problem(["platform"], f"required: one of {known}")]
    try:
        return _adapter(_models(list(platforms))).validate_python(data), []
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False, include_context=False):
            loc = list(err["loc"])
            if loc and loc[0] == platform:
                loc = loc[1:]  # the discriminator's tag, not a key in the file
            # pydantic adds the union member's type name to the path; it is not in the file
            loc = [p for p in loc if not (isinstance(p, str) and p.startswith(("list[", "str")))]
            message = _FRIENDLY.get(err["type"], err["msg"])
            problems.append(source.problem(loc, message.removeprefix("Value error, ")))
        return None, sorted(problems, key=lambda p: p.line or 0)


def mapping_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a mapping file: one shape per built-in platform."""
    platforms = registry()
    built_in = [platforms.get(name) for name in platforms.built_in]
    schema = _adapter(_models(built_in)).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://baton.dev/schemas/mapping.json"
    schema["title"] = "Baton mapping file"
    return schema
