"""Compile a checked mapping spec against its catalog: names → ids, templates → code.

Every problem is collected (with file, path and line) before anything fails, so ops teams see
all their mistakes in one run. Templates are also test-rendered against a full sample handoff,
which turns a typo such as ``handoff.custmer`` into a validation error instead of a failed
delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from baton.core.catalog import Catalog, CatalogField, suggest
from baton.core.disposition import Outcome
from baton.core.errors import ConfigError, Problem
from baton.core.mapping.context import sample_context
from baton.core.mapping.limits import OPTION_TYPES, SizeLimit
from baton.core.mapping.source import PathPart, SourceFile
from baton.core.mapping.spec import MappingBase, Sla, When
from baton.core.mapping.targets import Target
from baton.core.plugin import PlatformPlugin
from baton.core.redact import Redactor, default_redactor
from baton.core.templating import (
    compile_template,
    has_markup,
    load_template,
    make_environment,
    render,
)


@dataclass(frozen=True)
class Route:
    """A routing rule with its target resolved."""

    name: str
    when: When
    target: Target
    sla: Sla | None = None


@dataclass(frozen=True)
class CompiledField:
    """A field with its platform key, catalog entry, value template and value map."""

    key: str | int
    field: CatalogField
    template: jinja2.Template
    value_map: Mapping[str, str] | None


@dataclass(frozen=True)
class CompiledMapping:
    """A mapping ready to render handoffs: every name resolved, every template compiled."""

    plugin: PlatformPlugin
    spec: MappingBase
    catalog: Catalog
    subject: jinja2.Template
    description: jinja2.Template | None
    priority: Mapping[str, str]
    fields: tuple[CompiledField, ...]
    tag_templates: tuple[jinja2.Template, ...]
    tags_field: str | int | None
    routes: tuple[Route, ...]
    default: Target
    backup: Target | None
    note: jinja2.Template
    note_limit: SizeLimit
    statuses: Mapping[str, Outcome] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=default_redactor)

    @property
    def platform(self) -> str:
        """The platform's registered name."""
        return self.plugin.name

    @property
    def slas(self) -> dict[str, Sla]:
        """The SLA targets by route name (``default`` for the default route)."""
        found = {route.name: route.sla for route in self.routes if route.sla is not None}
        if self.spec.routing.default.sla is not None:
            found["default"] = self.spec.routing.default.sla
        return found


class _Compiler:
    def __init__(
        self,
        source: SourceFile,
        spec: MappingBase,
        catalog: Catalog,
        templates: Path,
        plugin: PlatformPlugin,
    ):
        self.source = source
        self.spec = spec
        self.plugin = plugin
        self.catalog = catalog
        self.problems: list[Problem] = []
        self.text_env = make_environment(templates)
        self.note_env = make_environment(templates, html=plugin.note_is_html)
        self.sample = sample_context()

    def report(self, path: list[PathPart], message: str) -> None:
        self.problems.append(self.source.problem(path, message))

    def template(self, path: list[PathPart], text: str) -> jinja2.Template | None:
        try:
            compiled = compile_template(self.text_env, text)
            render(compiled, self.sample)
        except ConfigError as exc:
            self.report(path, str(exc))
            return None
        return compiled

    def catalog_field(self, path: list[PathPart], name: str) -> CatalogField | None:
        found = self.catalog.field(name)
        if found is None:
            known = [f.name for f in self.catalog.fields]
            self.report(path, f"unknown field '{name}'{suggest(name, known)}")
        return found

    def option_value(self, path: list[PathPart], fld: CatalogField, wanted: str) -> str | None:
        option = fld.option(wanted)
        if option is None:
            known = [o.name for o in fld.options]
            self.report(
                path, f"'{wanted}' is not an option of '{fld.name}'{suggest(wanted, known)}"
            )
            return None
        return option.value

    def priority(self) -> dict[str, str]:
        resolved: dict[str, str] = {}
        field_name = self.plugin.priority_field
        if field_name is None:
            known = list(self.plugin.priority_values)
            for key, value in self.spec.priority.items():
                if value not in known:
                    self.report(
                        ["priority", key], f"unknown priority '{value}'{suggest(value, known)}"
                    )
                resolved[key] = value
            return resolved
        fld = self.catalog_field(["priority"], field_name)
        for key, value in self.spec.priority.items():
            option = self.option_value(["priority", key], fld, value) if fld else None
            resolved[key] = option or value
        return resolved

    def fields(self) -> tuple[CompiledField, ...]:
        compiled = []
        for index, spec in enumerate(self.spec.fields):
            path: list[PathPart] = ["fields", index]
            fld = self.catalog_field([*path, "field"], spec.field)
            template = self.template([*path, "value"], spec.value)
            if fld is None or template is None:
                continue
            if fld.type in OPTION_TYPES:
                for key, value in (spec.map or {}).items():
                    self.option_value([*path, "map", key], fld, value)
                if spec.map is None and not has_markup(spec.value):
                    self.option_value([*path, "value"], fld, spec.value)
            compiled.append(CompiledField(fld.id, fld, template, spec.map))
        return tuple(compiled)

    def tags(self) -> tuple[tuple[jinja2.Template, ...], str | int | None]:
        tags = self.spec.tags
        templates = []
        for index, text in enumerate(tags.templated):
            compiled = self.template(["tags", "templated", index], text)
            if compiled is not None:
                templates.append(compiled)
        uses_tags = bool(tags.static or tags.templated or tags.derived)
        if self.plugin.native_tags:
            if tags.field is not None:
                self.report(
                    ["tags", "field"], f"{self.plugin.title} tags are native; remove tags.field"
                )
            return tuple(templates), None
        if tags.field is None:
            if uses_tags:
                self.report(
                    ["tags", "field"],
                    f"{self.spec.platform} has no native tags: name a text field to hold them",
                )
            elif self.spec.unverified_requester != "claimed":
                self.report(
                    ["tags", "field"],
                    f"{self.spec.platform} has no native tags: name a text field to hold the "
                    f"identity_unverified tag of unverified_requester: "
                    f"{self.spec.unverified_requester}",
                )
            return tuple(templates), None
        fld = self.catalog_field(["tags", "field"], tags.field)
        return tuple(templates), fld.id if fld else None

    def routing(self) -> tuple[tuple[Route, ...], Target, Target | None]:
        resolve = self.plugin.resolve_target
        routing = self.spec.routing
        default = resolve(routing.default, ["routing", "default"], self.catalog, self.report)
        backup = (
            resolve(routing.backup, ["routing", "backup"], self.catalog, self.report)
            if routing.backup is not None
            else None
        )
        routes = []
        for index, rule in enumerate(routing.rules):
            prepared = self.plugin.prepare_rule(rule, routing.default, default)
            target = resolve(prepared, ["routing", "rules", index], self.catalog, self.report)
            routes.append(Route(prepared.name, prepared.when, target, prepared.sla))
        return tuple(routes), default, backup

    def note(self) -> tuple[jinja2.Template | None, SizeLimit]:
        spec = self.spec.note
        ceiling = self.plugin.note_limit
        limit = ceiling
        if spec.max_chars is not None:
            if ceiling.unit == "chars" and spec.max_chars > ceiling.amount:
                self.report(
                    ["note", "max_chars"],
                    f"{self.spec.platform} notes hold at most {ceiling.amount} characters",
                )
            limit = SizeLimit(min(spec.max_chars, ceiling.amount), ceiling.unit)
        try:
            template = load_template(self.note_env, spec.template)
            render(
                template,
                {**self.sample, "turns": self.sample["handoff"]["transcript"], "omitted": 0},
            )
        except ConfigError as exc:
            self.report(["note", "template"], str(exc))
            return None, limit
        return template, limit

    def statuses(self) -> dict[str, Outcome]:
        known = self.plugin.known_statuses(self.spec, self.catalog)
        folded = {k.casefold() for k in known}
        resolved: dict[str, Outcome] = {}
        for status, outcome in self.spec.dispositions.items():
            if status.casefold() not in folded:
                self.report(["dispositions", status], f"unknown status{suggest(status, known)}")
            resolved[status.casefold()] = outcome
        return resolved

    def compile(self) -> CompiledMapping | None:
        spec = self.spec
        if self.catalog.platform != spec.platform:
            self.report(["platform"], f"the catalog is for {self.catalog.platform}")
            return None
        self.plugin.check_mapping(spec, self.catalog, self.report)
        subject = self.template(["subject"], spec.subject)
        description = self.template(["description"], spec.description) if spec.description else None
        priority = self.priority()
        fields = self.fields()
        tag_templates, tags_field = self.tags()
        routes, default, backup = self.routing()
        note, note_limit = self.note()
        statuses = self.statuses()
        if self.problems or subject is None or note is None:
            return None
        return CompiledMapping(
            self.plugin, spec, self.catalog, subject, description, priority, fields,
            tag_templates, tags_field, routes, default, backup, note, note_limit, statuses,
        )  # fmt: skip


def compile_mapping(
    source: SourceFile,
    spec: MappingBase,
    catalog: Catalog,
    templates: Path,
    plugin: PlatformPlugin,
) -> tuple[CompiledMapping | None, list[Problem]]:
    """Resolve names and compile templates; returns the mapping or every problem found."""
    compiler = _Compiler(source, spec, catalog, templates, plugin)
    compiled = compiler.compile()
    return compiled, compiler.problems
