"""RELIABILITY property C5: no card number, SSN, IBAN or credential leaves Baton unmasked.

Covers core.redact: each built-in rule (matches and near misses), configured rules loaded from
YAML, idempotence and card coverage under hypothesis, and redaction of a whole handoff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.core.errors import MappingError
from baton.core.handoff import Handoff, validate_handoff
from baton.core.redact import (
    RedactionRule,
    Redactor,
    default_redactor,
    iban_ok,
    load_rules,
    luhn_ok,
)
from tests.support.paths import MAPPINGS

# Credential-shaped test values are assembled from pieces so that secret scanners do not flag
# this file; none of them is a real credential.
STRIPE_LIVE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_TEST = "sk_" + "test_" + "51HxYzAbCdEfGhIjKlMnOp"
STRIPE_RESTRICTED = "rk_" + "live_" + "Zq8w7e6r5t4y3u2i1o0p"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
GITHUB_CLASSIC = "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345"
GITHUB_OAUTH = "gho_" + "16C7e42F292c6912E7710c838347Ae178B4a"
GITHUB_APP = "ghs_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
GITHUB_FINE_GRAINED = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
SLACK_BOT = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
BEARER_TOKEN = "Zm9vYmFyLWJhei1xdXV4LTEyMzQ1Njc4OTA"


def redact(text: str) -> str:
    return default_redactor().redact(text)


# --- payment cards ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111 1111 1111 1111", "[card ••••1111]"),
        ("4111-1111-1111-1111", "[card ••••1111]"),
        ("4111111111111111", "[card ••••1111]"),
        ("5555-5555-5555-4444", "[card ••••4444]"),
        ("378282246310005", "[card ••••0005]"),
        ("3782 822463 10005", "[card ••••0005]"),
        ("Card: 4111 1111 1111 1111.", "Card: [card ••••1111]."),
        ("(5555-5555-5555-4444)", "([card ••••4444])"),
        ('"378282246310005",', '"[card ••••0005]",'),
        ("card#4111111111111111;exp 12/29", "card#[card ••••1111];exp 12/29"),
        ("line one\n4111 1111 1111 1111\nline three", "line one\n[card ••••1111]\nline three"),
    ],
)
def test_c5_card_numbers_are_masked_with_last_four(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_c5_card_next_to_other_numbers_is_still_found() -> None:
    assert redact("qty 2 4111 1111 1111 1111 5") == "qty 2 [card ••••1111] 5"
    assert redact("1234 4111111111111111") == "1234 [card ••••1111]"


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567812345678",  # 16 digits, fails Luhn
        "order 1234-5678-1234-5678",
        "ref 4111 1111 1111 1112",  # one digit off a valid card
        "411111111111",  # 12 digits: too short even though Luhn holds
        "41111111111111111111",  # 20 digits: too long
        "meetings 2024-01-15 2024-01-16 2024-01-17",
        "call +1 415-555-0132 or 415 555 0199",
        "tracking 1Z999AA10123456784",
    ],
)
def test_c5_numbers_that_are_not_cards_stay(text: str) -> None:
    assert redact(text) == text


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_ok("378282246310005")
    assert not luhn_ok("1234567812345678")


# --- US social security numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123-45-6789", "[ssn •••-••-6789]"),
        ("123 45 6789", "[ssn •••-••-6789]"),
        ("SSN: 123-45-6789.", "SSN: [ssn •••-••-6789]."),
        ("(ssn 665-01-0001)", "(ssn [ssn •••-••-0001])"),
        ("899-99-9999, thanks", "[ssn •••-••-9999], thanks"),
    ],
)
def test_c5_ssns_are_masked_with_last_four(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "900-12-3456",  # area 9xx
        "987-65-4321",
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "123-45 6789",  # mixed separators
        "123456789",  # no separators
        "x123-45-6789",  # glued to a word
    ],
)
def test_c5_invalid_ssns_stay(text: str) -> None:
    assert redact(text) == text


# --- IBANs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GB82 WEST 1234 5698 7654 32", "[iban GB•• ••••5432]"),
        ("GB82WEST12345698765432", "[iban GB•• ••••5432]"),
        ("ES91 2100 0418 4502 0005 1332", "[iban ES•• ••••1332]"),
        ("DE89 3704 0044 0532 0130 00", "[iban DE•• ••••3000]"),
        ("IBAN: DE89370400440532013000.", "IBAN: [iban DE•• ••••3000]."),
        ("(ES9121000418450200051332)", "([iban ES•• ••••1332])"),
        ("pay to ES91 2100 0418 4502 0005 1332 2024", "pay to [iban ES•• ••••1332] 2024"),
    ],
)
def test_c5_ibans_are_masked_keeping_country_and_last_four(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GB83 WEST 1234 5698 7654 32",  # wrong check digits
        "ES92 2100 0418 4502 0005 1332",
        "DE88370400440532013000",
        "XX00 ABCD EFGH IJKL MNOP",
    ],
)
def test_c5_ibans_failing_mod_97_stay(text: str) -> None:
    assert redact(text) == text


def test_iban_check() -> None:
    assert iban_ok("GB82WEST12345698765432")
    assert not iban_ok("GB83WEST12345698765432")


# --- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {BEARER_TOKEN}", "Authorization: Bearer [secret]"),
        (f"bearer {JWT}, then", "bearer [secret], then"),
        (f"key {STRIPE_LIVE}.", "key [secret]."),
        (f"({STRIPE_TEST})", "([secret])"),
        (STRIPE_RESTRICTED, "[secret]"),
        (f"aws {AWS_KEY_ID} here", "aws [secret] here"),
        (GITHUB_CLASSIC, "[secret]"),
        (GITHUB_OAUTH, "[secret]"),
        (GITHUB_APP, "[secret]"),
        (GITHUB_FINE_GRAINED, "[secret]"),
        (f"slack: '{SLACK_BOT}'", "slack: '[secret]'"),
        (f"session {JWT}", "session [secret]"),
    ],
)
def test_c5_tokens_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_key=abc123", "api_key=[secret]"),
        ("apikey: xyz789", "apikey: [secret]"),
        ("token=t0k3n&user=ana", "token=[secret]&user=ana"),
        ("password=hunter2 please", "password=[secret] please"),
        ("secret: s3cr3t", "secret: [secret]"),
        ("API_KEY = ABC123", "API_KEY = [secret]"),
        ("X-Api-Key: k-123", "X-Api-Key: [secret]"),
        ("access_token=a.b.c", "access_token=[secret]"),
        ("DB_PASSWORD='pa ss'", "DB_PASSWORD='[secret]'"),
        ('{"client_secret": "s e\\"cret"}', '{"client_secret": "[secret]"}'),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key=[secret]"),
        (":token => 'abc'", ":token => '[secret]'"),
    ],
)
def test_c5_key_value_secrets_mask_only_the_value(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tokenization is how we store cards",
        "our secret sauce is patience",
        "use the password reset link",
        "monkey: banana",
        "key: value",
        "Bearer shorttoken",
        "sk_live_short",
        "AKIA1234",
        "the bearer of this letter",
    ],
)
def test_c5_words_that_look_like_secrets_stay(text: str) -> None:
    assert redact(text) == text


# --- overlaps, masks and determinism ----------------------------------------------------------


def test_c5_masks_are_never_masked_again() -> None:
    text = "[card ••••1111] [ssn •••-••-6789] [iban ES•• ••••1332] [secret] token=[secret]"
    assert redact(text) == text


def test_c5_overlapping_matches_merge_into_one_mask() -> None:
    # The key-value rule sees "4111" as the value, the card rule the whole number.
    assert redact("secret: 4111 1111 1111 1111") == "secret: [card ••••1111]"
    assert redact("token=x,4111 1111 1111 1111") == "token=[secret]"
    assert redact(f"token: Bearer {BEARER_TOKEN}") == "token: [secret] [secret]"


def test_c5_match_glued_to_another_is_masked_too() -> None:
    # The card is only delimited once the token next to it has become a mask.
    assert redact(f"4111111111111111{JWT}") == "[card ••••1111][secret]"


def test_c5_texts_without_matches_come_back_unchanged() -> None:
    text = "Hello, my order arrived damaged. Can I get a refund? Thanks! " * 300
    assert redact(text) == text


# --- hypothesis -------------------------------------------------------------------------------


@st.composite
def luhn_valid_cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(min_value=13, max_value=19))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError("unreachable: one check digit always satisfies Luhn")


@st.composite
def printed_cards(draw: st.DrawFn) -> tuple[str, str]:
    """A Luhn-valid card and one way it might be written (plain, 4-4-4-4…, or 4-6-5)."""
    digits = draw(luhn_valid_cards())
    separator = draw(st.sampled_from(["", " ", "-"]))
    if len(digits) == 15 and draw(st.booleans()):
        groups = [digits[:4], digits[4:10], digits[10:]]
    else:
        groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return digits, separator.join(groups) if separator else digits


@given(
    card=printed_cards(),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    opener=st.sampled_from([" ", "\n", ": ", " (", "=", ", ", "card "]),
    closer=st.sampled_from([" ", "\n", ".", ")", ", ", "; "]),
)
def test_c5_luhn_valid_cards_never_survive(
    card: tuple[str, str], before: str, after: str, opener: str, closer: str
) -> None:
    digits, printed = card
    out = redact(before + opener + printed + closer + after)
    assert digits not in re.sub(r"[ -]", "", out)


FRAGMENTS = [
    "4111 1111 1111 1111",
    "4111111111111111",
    "5555-5555-5555-4444",
    "123-45-6789",
    "GB82 WEST 1234 5698 7654 32",
    "ES9121000418450200051332",
    "Bearer ",
    BEARER_TOKEN,
    JWT,
    AWS_KEY_ID,
    STRIPE_LIVE,
    "token=",
    "password: ",
    "api_key",
    '"',
    "'",
    "=",
    ":",
    " ",
    "-",
    "\n",
    "[secret]",
    "[card ••••1111]",
    "[",
    "]",
    "x",
    "7",
    "2024",
]


@given(
    st.one_of(
        st.text(),
        st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=12).map(
            "".join
        ),
    )
)
def test_c5_redact_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


# --- handoffs ---------------------------------------------------------------------------------

CARD = "4111 1111 1111 1111"
SSN = "123-45-6789"


def _handoff() -> Handoff:
    return validate_handoff(
        {
            "id": "h-123",
            "created_at": "2026-11-21T10:00:00Z",
            "conversation_id": "conv-9",
            "channel": "chat",
            "intent": "billing.refund",
            "triggers": [{"kind": "sentiment", "detail": f"customer pasted {CARD}"}],
            "customer": {
                "name": "Ana Pérez",
                "email": "ana@example.com",
                "phone": "+1 415 555 0132",
            },
            "summary": f"Refund for a double charge; customer gave SSN {SSN}.",
            "transcript": [
                {"role": "customer", "text": f"My card is {CARD}, charged twice."},
                {"role": "agent", "text": "Thanks, checking."},
                {"role": "tool", "text": f"GET /charges Authorization: Bearer {BEARER_TOKEN}"},
            ],
            "actions_taken": [
                {"action": f"looked up {SSN}", "outcome": f"found card {CARD}"},
                {"action": "opened refund"},
            ],
            "next_steps": [f"verify SSN {SSN}"],
            "facts": {"card": CARD, "auth": f"Bearer {BEARER_TOKEN}", "amount": 42, "vip": True},
            "metadata": {
                "debug": {"headers": [f"Bearer {BEARER_TOKEN}", 3, None]},
                "ssn_on_file": SSN,
                "count": 2,
            },
        }
    )


def test_c5_redact_handoff_masks_every_free_text() -> None:
    handoff = _handoff()
    redacted = default_redactor().redact_handoff(handoff)

    dumped = redacted.model_dump_json()
    for secret in (CARD, CARD.replace(" ", ""), SSN, BEARER_TOKEN):
        assert secret not in dumped
    assert redacted.summary == "Refund for a double charge; customer gave SSN [ssn •••-••-6789]."
    assert redacted.transcript[0].text == "My card is [card ••••1111], charged twice."
    assert redacted.transcript[2].text == "GET /charges Authorization: Bearer [secret]"
    assert redacted.actions_taken[0].outcome == "found card [card ••••1111]"
    assert redacted.actions_taken[1].outcome is None
    assert redacted.next_steps == ["verify SSN [ssn •••-••-6789]"]
    assert redacted.triggers[0].detail == "customer pasted [card ••••1111]"


def test_c5_redact_handoff_keeps_customer_keys_and_non_strings() -> None:
    handoff = _handoff()
    redacted = default_redactor().redact_handoff(handoff)

    assert isinstance(redacted, Handoff)
    assert redacted.customer == handoff.customer
    assert redacted.customer.email == "ana@example.com"
    assert redacted.customer.phone == "+1 415 555 0132"
    assert redacted.facts == {
        "card": "[card ••••1111]",
        "auth": "Bearer [secret]",
        "amount": 42,
        "vip": True,
    }
    assert redacted.metadata == {
        "debug": {"headers": ["Bearer [secret]", 3, None]},
        "ssn_on_file": "[ssn •••-••-6789]",
        "count": 2,
    }
    unchanged = ("id", "created_at", "conversation_id", "channel", "intent", "priority")
    for field in unchanged:
        assert getattr(redacted, field) == getattr(handoff, field)
    # The original is untouched.
    assert CARD in handoff.model_dump_json()


def test_c5_redacted_handoff_still_validates() -> None:
    redacted = default_redactor().redact_handoff(_handoff())
    data: dict[str, Any] = json.loads(redacted.model_dump_json())
    assert validate_handoff(data) == redacted


# --- configured rules -------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "redaction.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_rules_and_mask_with_extra_rule(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\n"
        "rules:\n"
        "  - name: member_number\n"
        "    pattern: 'MBR-\\d{8}'\n"
        "    label: member id\n",
    )
    rules = load_rules(path)
    assert rules == [RedactionRule("member_number", r"MBR-\d{8}", "member id")]

    redactor = Redactor(rules)
    text = "member MBR-12345678 paid with 4111 1111 1111 1111"
    out = redactor.redact(text)
    assert out == "member [member id] paid with [card ••••1111]"
    assert redactor.redact(out) == out
    # The built-in redactor does not know the extra rule.
    assert "MBR-12345678" in default_redactor().redact(text)


def test_load_rules_reports_every_problem_with_its_path(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "version: 1\n"
        "rules:\n"
        "  - name: no_pattern\n"
        "    label: thing\n"
        "  - name: bad_regex\n"
        "    pattern: 'ACCT-([0-9]+'\n"
        "    label: account\n"
        "  - name: no_label\n"
        "    pattern: 'X-\\d+'\n"
        "    label: ''\n",
    )
    with pytest.raises(MappingError) as caught:
        load_rules(path)

    problems = caught.value.problems
    assert [p.path for p in problems] == ["rules[0].pattern", "rules[1].pattern", "rules[2].label"]
    assert all(p.file == "redaction.yaml" for p in problems)
    assert problems[1].message.startswith("not a valid regular expression: ")
    assert "ACCT-" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("rules: []\n", ["version"]),
        ("version: 2\nrules: []\n", ["version"]),
        ("version: 1\n", ["rules"]),
        ("version: 1\nrules: {}\n", ["rules"]),
        ("version: 1\nrules: []\nextra: 1\n", ["extra"]),
        ("- 1\n", [""]),
        ("version: 1\nrules:\n  - just a string\n", ["rules[0]"]),
        (
            "version: 1\nrules:\n"
            "  - {name: a, pattern: 'x', label: y, flags: i}\n"
            "  - {name: a, pattern: 'x*', label: 'y[z]'}\n"
            "  - {name: 3, pattern: 'x', label: y}\n",
            [
                "rules[0].flags",
                "rules[1].pattern",
                "rules[1].label",
                "rules[1].name",
                "rules[2].name",
            ],
        ),
    ],
)
def test_load_rules_rejects_bad_shapes(tmp_path: Path, text: str, paths: list[str]) -> None:
    with pytest.raises(MappingError) as caught:
        load_rules(_write(tmp_path, text))
    assert [p.path for p in caught.value.problems] == paths


def test_load_rules_missing_file_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as caught:
        load_rules(tmp_path / "nope.yaml")
    assert caught.value.problems[0].file == "nope.yaml"


def test_load_rules_bad_yaml_names_position_not_content(tmp_path: Path) -> None:
    path = _write(tmp_path, 'version: 1\nrules: [{name: "hunter2-secret\n')
    with pytest.raises(MappingError) as caught:
        load_rules(path)
    assert "hunter2" not in str(caught.value)
    assert "line" in caught.value.problems[0].message


def test_shipped_redaction_file_loads_with_no_rules() -> None:
    assert load_rules(MAPPINGS / "redaction.yaml") == []


def test_rule_built_in_code_is_checked() -> None:
    with pytest.raises(MappingError) as caught:
        RedactionRule("broken", "(", "label")
    assert [p.path for p in caught.value.problems] == ["pattern"]
