"""What a preview may never contain (C5), what bad input gets (C4), and note fitting."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from baton.core.errors import ValidationError
from baton.core.handoff import MAX_HANDOFF_BYTES, parse_handoff, validate_handoff
from baton.core.mapping import load_mapping, plan_requests, validate_mappings
from baton.webhooks.cli_core import app
from tests.support.paths import EXPLICIT_HUMAN, MAPPINGS, VIP_REFUND, example_files

PLATFORMS = ("zendesk", "salesforce", "hubspot")
runner = CliRunner()

CARD = "4242 4242 4242 4242"
SSN = "219-09-9999"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXNlY3JldA"
SECRET_TEXT = (
    f"my card is {CARD}, ssn {SSN}, and our integration uses Authorization: Bearer {TOKEN}"
)


def base_handoff() -> dict[str, Any]:
    return json.loads(EXPLICIT_HUMAN.read_text(encoding="utf-8"))


def with_secrets() -> dict[str, Any]:
    data = base_handoff()
    data["transcript"].append({"role": "customer", "text": SECRET_TEXT})
    data["summary"] = f"Customer pasted {CARD} into the chat."
    data["facts"]["pasted"] = f"ssn {SSN}"
    data["actions_taken"].append({"action": f"Stored token Bearer {TOKEN}", "outcome": "no"})
    return data


def leaked(text: str) -> list[str]:
    digits = "".join(c for c in text if c.isdigit())
    found = [s for s in (CARD, SSN, TOKEN) if s in text]
    if CARD.replace(" ", "") in digits:
        found.append("card digits")
    return found


@pytest.mark.parametrize("platform", PLATFORMS)
def test_c5_card_ssn_and_token_never_reach_a_preview(platform: str) -> None:
    """C5: a card number, an SSN and a bearer token in the transcript never appear."""
    handoff = validate_handoff(with_secrets())
    plan = plan_requests(load_mapping(MAPPINGS, platform), handoff)
    text = json.dumps([r.as_dict() for r in plan.requests], ensure_ascii=False)
    assert leaked(text) == []
    assert "[card ••••4242]" in text  # masked, not silently dropped


@pytest.mark.parametrize("platform", PLATFORMS)
def test_c5_through_the_cli(platform: str, tmp_path: Path) -> None:
    file = tmp_path / "secret.json"
    file.write_text(json.dumps(with_secrets()), encoding="utf-8")
    result = runner.invoke(
        app, ["mappings", "preview", "--platform", platform, str(file), "--mappings", str(MAPPINGS)]
    )
    assert result.exit_code == 0, result.output
    assert leaked(result.output) == []
    json.loads(result.output)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_c5_shipped_examples_leave_no_card_ssn_or_iban(platform: str) -> None:
    mapping = load_mapping(MAPPINGS, platform)
    for file in example_files():
        plan = plan_requests(mapping, parse_handoff(file.read_bytes()))
        text = json.dumps([r.json for r in plan.requests], ensure_ascii=False)
        for secret in ("4111 1111 1111 1111", "078-05-1120", "ES91 2100 0418 4502 0005 1332"):
            assert secret not in text, f"{file.name} leaks on {platform}"


def test_preview_prints_the_documented_document() -> None:
    result = runner.invoke(
        app,
        [
            "mappings",
            "preview",
            "--platform",
            "zendesk",
            str(VIP_REFUND),
            "--mappings",
            str(MAPPINGS),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["platform"] == "zendesk"
    assert document["route"] == "VIP billing"
    [request] = document["requests"]
    assert set(request) == {"method", "path", "headers", "json"}


MALFORMED = [
    ("wrong type", lambda d: d.update(priority=3), "priority"),
    ("missing field", lambda d: d.pop("summary"), "summary"),
    ("bad id characters", lambda d: d.update(id="ho 1/2"), "id"),
    ("naive timestamp", lambda d: d.update(created_at="2026-11-21T10:00:00"), "created_at"),
    (
        "oversize message",
        lambda d: d["transcript"].append({"role": "customer", "text": "x" * 20_001}),
        "transcript[",
    ),
    (
        "too many messages",
        lambda d: d.update(transcript=[{"role": "agent", "text": "hi"}] * 501),
        "transcript",
    ),
    ("trigger kind not a string", lambda d: d["triggers"].append({"kind": 7}), "triggers[1].kind"),
    ("identifier with spaces", lambda d: d.update(conversation_id="conv 1"), "conversation_id"),
    ("unknown key", lambda d: d.update(sentimment=1), "sentimment"),
    ("no triggers", lambda d: d.update(triggers=[]), "triggers"),
]


@pytest.mark.parametrize(("case", "breaks", "path"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_c4_malformed_handoff_names_the_field(case: str, breaks: Any, path: str) -> None:
    """C4: a malformed handoff → a field-path error that never echoes the input."""
    data = copy.deepcopy(base_handoff())
    data["transcript"][0]["text"] = "PRIVATE-TRANSCRIPT-TEXT"
    breaks(data)
    with pytest.raises(ValidationError) as caught:
        parse_handoff(json.dumps(data))
    assert any(p.path.startswith(path) for p in caught.value.problems), caught.value
    assert "PRIVATE-TRANSCRIPT-TEXT" not in str(caught.value)


def test_c4_whole_handoff_over_one_mebibyte() -> None:
    data = base_handoff()
    data["metadata"] = {"blob": "x" * MAX_HANDOFF_BYTES}
    with pytest.raises(ValidationError, match="limit is 1048576"):
        parse_handoff(json.dumps(data))


def test_c4_cli_bad_input_is_one_message_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    data = base_handoff()
    data["priority"] = "whenever"
    bad.write_text(json.dumps(data), encoding="utf-8")
    not_json = tmp_path / "not.json"
    not_json.write_text("{ nope", encoding="utf-8")
    for file, expected in [
        (bad, "priority: Input should be"),
        (not_json, "Invalid JSON"),
        (tmp_path / "missing.json", "file not found"),
    ]:
        result = runner.invoke(
            app,
            [
                "mappings",
                "preview",
                "--platform",
                "hubspot",
                str(file),
                "--mappings",
                str(MAPPINGS),
            ],
        )
        assert result.exit_code == 2, result.output
        assert expected in result.output
        assert "Traceback" not in result.output


def test_note_keeps_newest_turns_within_the_salesforce_limit() -> None:
    data = base_handoff()
    data["transcript"] = [
        {"role": "customer" if i % 2 else "agent", "text": f"turn-{i:03d} " + "words " * 60}
        for i in range(300)
    ]
    plan = plan_requests(load_mapping(MAPPINGS, "salesforce"), validate_handoff(data))
    note = plan.requests[1].json["CommentBody"]
    assert len(note.encode()) <= 4_000
    assert "turn-299" in note  # the newest turn stays
    assert "turn-000" not in note
    kept = note.count("turn-")
    assert f"{300 - kept} earlier messages omitted" in note


def test_note_that_cannot_fit_is_cut_with_a_visible_marker() -> None:
    data = base_handoff()
    data["facts"] = {f"fact_{i}": "v" * 1_900 for i in range(5)}
    plan = plan_requests(load_mapping(MAPPINGS, "salesforce"), validate_handoff(data))
    note = plan.requests[1].json["CommentBody"]
    assert len(note.encode()) <= 4_000
    assert note.endswith("note shortened to fit the platform's limit]")


def test_c5_redaction_yaml_rules_apply_to_every_platform(tmp_path: Path) -> None:
    """Configured extra patterns from mappings/redaction.yaml mask before anything leaves."""
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    (mappings / "redaction.yaml").write_text(
        "version: 1\nrules:\n  - name: member\n    pattern: 'MBR-\\d{8}'\n    label: member id\n",
        encoding="utf-8",
    )
    data = base_handoff()
    data["transcript"].append({"role": "customer", "text": "my member number is MBR-12345678"})
    handoff = validate_handoff(data)
    for platform in PLATFORMS:
        plan = plan_requests(load_mapping(mappings, platform), handoff)
        text = json.dumps([r.json for r in plan.requests], ensure_ascii=False)
        assert "MBR-12345678" not in text
        assert "[member id]" in text


def test_broken_redaction_yaml_is_reported_once(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    (mappings / "redaction.yaml").write_text(
        "version: 1\nrules:\n  - name: bad\n    pattern: '(unclosed'\n    label: x\n",
        encoding="utf-8",
    )
    _, problems = validate_mappings(mappings)
    assert [(p.file, p.path) for p in problems] == [("redaction.yaml", "rules[0].pattern")]
