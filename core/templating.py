"""Jinja2 templates for mappings and notes, always in a sandbox.

Mapping files are edited by ops teams, so templates are untrusted code: they run in Jinja2's
``ImmutableSandboxedEnvironment`` (no ``__class__`` walks, no mutation, ``range`` capped at
100,000), with ``*`` and ``**`` additionally capped because the stock sandbox lets
``'x' * 10**9`` allocate a gigabyte. Undefined names are errors, so a typo in a mapping is
caught when it is validated rather than rendering an empty field.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from baton.core.errors import ConfigError

MAX_SEQUENCE_PRODUCT = 100_000
MAX_EXPONENT = 1_000


def humanize(value: object) -> str:
    """``billing.refund_dispute`` → ``Billing › Refund dispute``."""
    parts = [p.replace("_", " ").strip() for p in str(value).split(".") if p]
    return " › ".join(p[:1].upper() + p[1:] for p in parts)


class _CappedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(
        self, context: jinja2.runtime.Context, operator_name: str, left: Any, right: Any
    ) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError("exponent too large for a template")
            return operator.pow(left, right)
        sized, count = (left, right) if isinstance(right, int) else (right, left)
        sequence = isinstance(sized, str | list | tuple) and isinstance(count, int)
        if sequence and len(sized) * count > MAX_SEQUENCE_PRODUCT:
            raise SecurityError("repetition too large for a template")
        return operator.mul(left, right)


def make_environment(
    templates_dir: Path | None = None, *, html: bool = False
) -> jinja2.Environment:
    """A sandboxed environment; ``html`` turns on autoescaping for HTML output."""
    loader = jinja2.FileSystemLoader(str(templates_dir)) if templates_dir else None
    env = _CappedSandbox(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    filters: dict[str, Callable[..., Any]] = {"humanize": humanize}
    env.filters.update(filters)
    return env


def has_markup(text: str) -> bool:
    """Whether ``text`` contains template markup (otherwise it is a plain value)."""
    return bool(re.search(r"\{[{%#]", text))


def compile_template(env: jinja2.Environment, source: str) -> jinja2.Template:
    """Compile a template string; a syntax error becomes a ConfigError naming the line."""
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"template syntax error on line {exc.lineno}: {exc.message}") from None


def load_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """Load a template file from the environment's folder."""
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"template file '{name}' not found") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"template syntax error on line {exc.lineno}: {exc.message}") from None


def render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render in the sandbox. Any failure, including a refused unsafe operation, is a
    ConfigError; Jinja's messages name types and attributes, never the values rendered."""
    try:
        return template.render(context)
    except SecurityError as exc:
        raise ConfigError(f"template refused an unsafe operation: {exc}") from None
    except OverflowError as exc:
        raise ConfigError(f"template refused an unsafe operation: {exc}") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"template error: {exc.message or type(exc).__name__}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise ConfigError(f"template error: {type(exc).__name__}") from None
