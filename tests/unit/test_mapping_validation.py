"""`baton mappings validate`: every mistake reported with file, line and path; exit 2 (C1, C3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import responses
import yaml
from typer.testing import CliRunner

from baton.core.mapping import load_mapping, validate_mappings
from baton.core.mapping.source import mapping_json_schema
from baton.webhooks.cli_core import app
from tests.support.paths import MAPPINGS

runner = CliRunner()


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """A private copy of the shipped mappings to break."""
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drift: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, snippet: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if snippet in line)


def validate(mappings: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["mappings", "validate", "--mappings", str(mappings)])
    return result.exit_code, result.output


def test_shipped_mappings_are_valid() -> None:
    code, output = validate(MAPPINGS)
    assert code == 0, output
    assert "zendesk.yaml, salesforce.yaml, hubspot.yaml" in output


def test_c1_three_mistakes_all_reported_with_paths_and_no_api_call(mappings: Path) -> None:
    """C1: several mistakes → each with its path, exit 2, and not one HTTP call."""
    file = mappings / "zendesk.yaml"
    edit(file, "      group: Billing\n", "      group: Billng\n")
    edit(file, "  - field: Customer Tier", "  - field: Custmer Tier")
    edit(file, "  urgent: urgent", "  urgent: critical")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        code, output = validate(mappings)
        assert len(mock.calls) == 0
    assert code == 2
    group_line = line_of(file, "group: Billng")
    assert (
        f"zendesk.yaml:{group_line}: routing.rules[4].group: unknown group 'Billng'; "
        "did you mean 'Billing'?" in output
    )
    assert "fields[1].field: unknown field 'Custmer Tier'; did you mean 'Customer Tier'?" in output
    assert "priority.urgent: unknown priority 'critical'" in output
    assert "3 problem(s)" in output


def test_mistakes_in_several_files_are_all_reported(mappings: Path) -> None:
    edit(mappings / "salesforce.yaml", "      queue: Retention", "      queue: Retension")
    edit(mappings / "hubspot.yaml", "    stage: New", "    stage: Nwe")
    code, output = validate(mappings)
    assert code == 2
    assert "salesforce.yaml:" in output
    assert "unknown queue 'Retension'" in output
    assert "hubspot.yaml:" in output
    assert "unknown stage of 'Support Pipeline' 'Nwe'" in output


def test_shape_errors_name_path_and_line(mappings: Path) -> None:
    file = mappings / "zendesk.yaml"
    edit(file, "ticket_type:\n", "ticket_typ:\n")
    edit(file, "      when: { language: es }", "      when: { langauge: es }")
    edit(file, "  max_transcript_turns: 40", "  max_transcript_turns: lots")
    _, problems = validate_mappings(mappings)
    rendered = [str(p) for p in problems]
    assert f"zendesk.yaml:{line_of(file, 'ticket_typ:')}: ticket_typ: unknown key" in rendered
    assert any("routing.rules[0].when.langauge: unknown key" in r for r in rendered)
    assert any("note.max_transcript_turns:" in r and "integer" in r for r in rendered)


def test_wrong_target_kind_for_platform_is_rejected(mappings: Path) -> None:
    """A Zendesk mapping cannot route to a Salesforce-style queue."""
    edit(
        mappings / "zendesk.yaml",
        "  default:\n    group: Tier 1 Support",
        "  default:\n    queue: Tier 1 Support",
    )
    _, problems = validate_mappings(mappings)
    paths = {p.path for p in problems}
    assert "routing.default.queue" in paths


def test_duplicate_keys_and_yaml_syntax(mappings: Path) -> None:
    file = mappings / "zendesk.yaml"
    edit(file, "  low: low\n", "  low: low\n  low: normal\n")
    _, problems = validate_mappings(mappings)
    assert any(p.path == "priority.low" and p.message == "duplicate key" for p in problems)
    file.write_text("version: 1\nplatform: zendesk\nsubject: [unclosed\n", encoding="utf-8")
    _, problems = validate_mappings(mappings)
    [problem] = problems
    assert problem.message.startswith("YAML syntax")
    assert problem.line is not None


def test_template_typo_is_caught_at_validation(mappings: Path) -> None:
    edit(mappings / "hubspot.yaml", "{{ handoff.conversation_id }}", "{{ handoff.conversaton_id }}")
    _, problems = validate_mappings(mappings)
    [problem] = problems
    assert problem.path == "fields[4].value"
    assert "conversaton_id" in problem.message


@pytest.mark.parametrize(
    ("template", "refusal"),
    [
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{% for i in range(10**9) %}x{% endfor %}", "Range too big"),
        ("{{ 'x' * 10**9 }}", "too large"),
        ("{{ handoff.summary.__class__ }}", "unsafe"),
    ],
)
def test_c3_template_sandbox_refuses(mappings: Path, template: str, refusal: str) -> None:
    """C3: templates run in Jinja2's sandbox; class walks and huge ranges are refused."""
    file = mappings / "salesforce.yaml"
    edit(file, 'description: "{{ handoff.summary }}"', f"description: {json.dumps(template)}")
    _, problems = validate_mappings(mappings)
    [problem] = problems
    assert problem.path == "description"
    assert refusal in problem.message


def test_c3_note_template_file_is_sandboxed_too(mappings: Path) -> None:
    note = mappings / "templates" / "note.txt.j2"
    note.write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    _, problems = validate_mappings(mappings)
    [problem] = problems
    assert (problem.file, problem.path) == ("salesforce.yaml", "note.template")
    assert "unsafe" in problem.message


def test_missing_catalog_and_missing_folder(mappings: Path, tmp_path: Path) -> None:
    (mappings / "catalogs" / "hubspot.json").unlink()
    _, problems = validate_mappings(mappings)
    [problem] = problems
    assert (problem.file, problem.path) == ("catalogs/hubspot.json", "")
    # The error names the folder searched and the fix.
    assert f"catalog file not found in {mappings / 'catalogs'}" in problem.message
    assert "baton mappings resolve" in problem.message
    code, output = validate(tmp_path / "nowhere")
    assert code == 2
    assert "no mapping files" in output
    assert "baton init" in output


def test_load_mapping_raises_with_every_problem(mappings: Path) -> None:
    edit(mappings / "zendesk.yaml", "      group: Retention", "      group: Retension")
    edit(mappings / "zendesk.yaml", "      assignee: Maya Okafor", "      assignee: Maya O")
    with pytest.raises(Exception, match="2 mapping problem") as caught:
        load_mapping(mappings, "zendesk")
    assert "unknown agent 'Maya O'" in str(caught.value)


def test_published_schema_is_current_and_validates_shipped_files() -> None:
    """mappings/schema.json is what editors use: it must equal the spec and accept the files."""
    published = json.loads((MAPPINGS / "schema.json").read_text(encoding="utf-8"))
    assert published == mapping_json_schema(), "run `make schema` after changing spec.py"
    validator = jsonschema.Draft202012Validator(published)
    for platform in ("zendesk", "salesforce", "hubspot"):
        data = yaml.safe_load((MAPPINGS / f"{platform}.yaml").read_text(encoding="utf-8"))
        assert list(validator.iter_errors(data)) == []
    broken = yaml.safe_load((MAPPINGS / "zendesk.yaml").read_text(encoding="utf-8"))
    broken["routing"]["default"] = {"queue": "Tier 1 Support"}
    assert list(validator.iter_errors(broken)), "the schema must reject a queue on Zendesk"


FALLBACK_EXAMPLE = (
    "# fallback_requester:\n"
    "#   name: Unidentified customer (AI handoff)\n"
    "#   email: unidentified-customer@example.com\n"
)


def test_the_requester_options_are_checked_with_path_and_line(mappings: Path) -> None:
    file = mappings / "zendesk.yaml"
    edit(file, "unverified_requester: tag", "unverified_requester: trust_me")
    edit(
        file,
        FALLBACK_EXAMPLE,
        "fallback_requester:\n  name: '   '\n  email: not-an-address\n",
    )
    _, problems = validate_mappings(mappings)
    by_path = {p.path: p for p in problems}
    policy = by_path["unverified_requester"]
    assert policy.line == line_of(file, "unverified_requester: trust_me")
    assert "'claimed', 'tag' or 'anonymous'" in policy.message
    assert "fallback_requester.name" in by_path
    assert by_path["fallback_requester.email"].line == line_of(file, "email: not-an-address")


def test_a_fallback_requester_needs_both_name_and_email(mappings: Path) -> None:
    """Zendesk creates a requester it does not know only from a name and an email."""
    file = mappings / "zendesk.yaml"
    edit(file, FALLBACK_EXAMPLE, "fallback_requester:\n  email: nobody@example.com\n")
    _, problems = validate_mappings(mappings)
    assert [p.path for p in problems] == ["fallback_requester.name"]
    edit(file, "  email: nobody@example.com\n", "  name: Unidentified customer\n")
    _, problems = validate_mappings(mappings)
    assert [p.path for p in problems] == ["fallback_requester.email"]


def test_a_valid_fallback_requester_is_accepted(mappings: Path) -> None:
    edit(
        mappings / "zendesk.yaml",
        FALLBACK_EXAMPLE,
        "fallback_requester:\n  name: Unidentified customer\n  email: nobody@example.com\n",
    )
    assert validate_mappings(mappings)[1] == []
    fallback = load_mapping(mappings, "zendesk").spec.fallback_requester
    assert fallback is not None
    assert (fallback.name, fallback.email) == ("Unidentified customer", "nobody@example.com")


def test_c7_the_unverified_tag_needs_a_tags_field_where_tags_are_not_native(
    mappings: Path,
) -> None:
    """C7 on every platform: HubSpot and Salesforce hold the identity_unverified tag in a text
    field, so a mapping that would tag but names no field is refused before anything is sent."""
    file = mappings / "hubspot.yaml"
    edit(file, "tags:\n  static: [baton]\n  derived: [trigger_kinds, intent, tier]\n", "")
    edit(file, "  field: Baton Tags\n", "")
    _, problems = validate_mappings(mappings)
    [problem] = problems
    assert problem.path == "tags.field"
    assert "identity_unverified" in problem.message
    edit(file, "unverified_requester: tag", "unverified_requester: claimed")
    assert validate_mappings(mappings)[1] == []
