"""The platform registry: what loads, what is refused and how, and that core names no platform.

Every platform-specific part of Baton hangs off a plugin found through ``core.plugin``; these
tests hold the registry's rules (order, built-in vs plugin, clear errors for a bad
``BATON_PLUGINS``) and the issue's structural promise: no token in ``core/`` or ``webhooks/``
code names a platform.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from baton.core.errors import ConfigError
from baton.core.handoff import handoff_json_schema
from baton.core.mapping import mapping_json_schema
from baton.core.plugin import PLUGINS_ENV, PlatformPlugin, registry
from tests.support.paths import ROOT
from tests.support.toydesk import plugin as toydesk

BUILT_IN = ("zendesk", "salesforce", "hubspot")


def test_built_in_platforms_come_first_in_their_listed_order() -> None:
    assert registry().built_in == BUILT_IN
    assert registry().names[: len(BUILT_IN)] == BUILT_IN


def test_published_schemas_enumerate_the_built_in_platforms_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PLUGINS_ENV, "tests.support.toydesk:plugin")
    assert "toydesk" in registry()
    destination = handoff_json_schema()["properties"]["destination"]["anyOf"][0]
    assert destination["enum"] == list(BUILT_IN)
    shapes = mapping_json_schema()["discriminator"]["mapping"]
    assert sorted(shapes) == sorted(BUILT_IN)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("no_colon_here", "is not module:object"),
        ("tests.support.no_such_module:plugin", "cannot import 'tests.support.no_such_module'"),
        ("tests.support.toydesk:no_such_object", "'tests.support.toydesk' has no 'no_such"),
        ("tests.unit.test_platform_registry:NOT_A_PLUGIN", "str is not a PlatformPlugin"),
        ("tests.unit.test_platform_registry:BAD_NAME", "a platform name must match"),
        ("tests.unit.test_platform_registry:CLASH", "'zendesk' is registered twice"),
    ],
)
def test_a_bad_plugins_setting_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, setting: str, expected: str
) -> None:
    monkeypatch.setenv(PLUGINS_ENV, setting)
    with pytest.raises(ConfigError) as raised:
        registry()
    assert PLUGINS_ENV in str(raised.value)
    assert expected in str(raised.value)


def test_a_sequence_of_plugins_loads_in_its_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLUGINS_ENV, "tests.unit.test_platform_registry:TWO")
    assert registry().names[len(BUILT_IN) :] == ("toydesk", "echodesk")
    assert registry().get("echodesk") is TWO[1]


def test_an_unknown_platform_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown platform 'freshdesk'; known: zendesk, "):
        registry().get("freshdesk")


def test_a_plugin_without_a_connector_or_sandbox_says_so() -> None:
    mapping_only = _Named("echodesk")
    mapping_only.title = "EchoDesk"
    assert not mapping_only.delivers
    assert not mapping_only.has_sandbox
    with pytest.raises(ConfigError, match="EchoDesk has no connector yet"):
        mapping_only.make_connector(None, {})


def test_every_built_in_platform_delivers_and_has_a_sandbox() -> None:
    for name in BUILT_IN:
        plugin = registry().get(name)
        assert (plugin.delivers, plugin.has_sandbox) == (True, True), name


def _platform_tokens(path: Path, root: Path = ROOT) -> list[str]:
    """Identifiers naming a platform, and string literals that are exactly a platform name
    (docstrings, comments and help text may name platforms)."""
    text = path.read_text(encoding="utf-8")
    docstrings = {
        (node.body[0].lineno, node.body[0].col_offset)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.NAME and any(p in token.string.lower() for p in BUILT_IN):
            found.append(f"{path.relative_to(root)}:{token.start[0]}: {token.string}")
        elif token.type == tokenize.STRING and token.start not in docstrings:
            try:
                value = ast.literal_eval(token.string)
            except (ValueError, SyntaxError):
                continue  # an f-string part
            if isinstance(value, str) and value.lower() in BUILT_IN:
                found.append(f"{path.relative_to(root)}:{token.start[0]}: {token.string}")
    return found


def test_core_and_webhooks_code_names_no_platform() -> None:
    files = sorted([*(ROOT / "core").rglob("*.py"), *(ROOT / "webhooks").rglob("*.py")])
    assert len(files) > 40
    found = [hit for path in files for hit in _platform_tokens(path)]
    assert found == []


def test_the_platform_token_check_sees_what_it_should(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        '"""Docstring: zendesk."""\n# a comment: zendesk\nzendesk_port = 1\nx = "hubspot"\n'
        'y = f"{x} is not salesforce"\n',
        "utf-8",
    )
    hits = [hit.split(": ")[1] for hit in _platform_tokens(planted, tmp_path)]
    assert hits == ["zendesk_port", '"hubspot"']


NOT_A_PLUGIN = "a plain string"


class _Named(PlatformPlugin):
    def __init__(self, name: str) -> None:
        self._name = name

    @property  # type: ignore[override]
    def name(self) -> str:  # a computed name, to plant ones the class attribute cannot
        return self._name


BAD_NAME = _Named("Not A Name")
CLASH = _Named("zendesk")
TWO = (toydesk, _Named("echodesk"))
