"""Redaction: mask payment cards, SSNs, IBANs and secrets in every text that leaves Baton.

RELIABILITY property C5: nothing Baton sends out (ticket notes, summaries, transcripts) carries
a payment card number, a US social security number, an IBAN or a credential that the agent
passed in. :class:`Redactor` applies the built-in rules plus any configured
:class:`RedactionRule` and replaces each match with a labelled mask:

===============  ==========================  ==============================================
rule             example                     mask
===============  ==========================  ==============================================
card             ``4111 1111 1111 1111``     ``[card ••••1111]`` (only when Luhn holds)
ssn              ``123-45-6789``             ``[ssn •••-••-6789]`` (valid area/group/serial)
iban             ``ES91 2100 0418 …``        ``[iban ES•• ••••1332]`` (only when mod-97 holds)
secrets          ``Bearer eyJ…``, ``sk_…``   ``Bearer [secret]``, ``[secret]``
key-value        ``password=hunter2``        ``password=[secret]`` (the value only)
configured       ``MBR-12345678``            ``[member id]``
===============  ==========================  ==============================================

How matches combine, so that the result is deterministic and ``redact`` is idempotent:

* text that already is a mask (``[secret]``, ``[card ••••1111]`` …) is never touched again;
* every character any rule matched is masked: overlapping matches merge into one mask, labelled
  by the match that starts first (then the longest, then the earlier rule);
* a pass that masks something can change what the rules see next to it, so passes repeat until
  one finds nothing left to mask.

Configured rules live in a YAML file (``mappings/redaction.yaml``) read by :func:`load_rules`.
"""

from __future__ import annotations

import bisect
import functools
import re
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from baton.core import privacy
from baton.core.errors import MappingError, Problem
from baton.core.handoff import Handoff

CREDENTIAL_MASK = "[secret]"
MAX_LABEL_CHARS = 64

# (start, end, mask) of one match in the text being redacted.
_Match = tuple[int, int, str]
_Finder = Callable[[str], Iterator[_Match]]

# Several patterns check the character before a match with a lookbehind placed after the
# match's first characters rather than at its very start: a pattern that starts with a
# lookbehind loses the regex engine's first-character scan and runs several times slower.

# --- payment cards --------------------------------------------------------------------------

# A run of digit groups joined by single spaces or dashes; card candidates are windows of it.
_DIGIT_RUN = re.compile(r"[0-9](?<![0-9A-Za-z][0-9])[0-9]*(?:[ -][0-9]+)*(?![0-9A-Za-z])")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_CARD_MIN_DIGITS = 13
_CARD_MAX_DIGITS = 19


def luhn_ok(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn checksum."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_ends(text: str, groups: Sequence[tuple[int, int]], first: int) -> list[int]:
    """Indexes of the groups that can end a card starting at group ``first``, longest first.

    One group of 13-19 digits, or groups printed the way cards are: 4-4-4-4(-3), 4-6-5, 4-6-4,
    4-4-4-1, one separator throughout. Anything looser turns dates and lists of phone numbers
    into false positives.
    """
    start, end = groups[first]
    digits = end - start
    if digits != 4:
        return [first] if _CARD_MIN_DIGITS <= digits <= _CARD_MAX_DIGITS else []
    if first + 1 == len(groups):
        return []
    separator = text[end]
    ends = []
    for last in range(first + 1, len(groups)):
        start, end = groups[last]
        size = end - start
        digits += size
        if digits > _CARD_MAX_DIGITS or text[start - 1] != separator or size > 6:
            break
        if digits >= _CARD_MIN_DIGITS:
            ends.append(last)
        if size < 4:  # only the last group may be shorter than four digits
            break
    return ends[::-1]


def _find_cards(text: str) -> Iterator[_Match]:
    for run in _DIGIT_RUN.finditer(text):
        if run.end() - run.start() < _CARD_MIN_DIGITS:
            continue
        groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(text, run.start(), run.end())]
        # Neighbouring numbers ("qty 2 4111 1111 1111 1111") join the run, so look for the
        # longest valid window at each group rather than judging the run as a whole.
        first = 0
        while first < len(groups):
            for last in _card_ends(text, groups, first):
                digits = "".join(text[start:end] for start, end in groups[first : last + 1])
                if luhn_ok(digits):
                    yield groups[first][0], groups[last][1], f"[card ••••{digits[-4:]}]"
                    first = last
                    break
            first += 1


# --- US social security numbers -------------------------------------------------------------

_SSN = re.compile(r"[0-9](?<![0-9A-Za-z][0-9])[0-9]{2}([- ])[0-9]{2}\1[0-9]{4}(?![0-9A-Za-z])")


def _find_ssns(text: str) -> Iterator[_Match]:
    for match in _SSN.finditer(text):
        value = match.group()
        area, group, serial = value[:3], value[4:6], value[7:]
        if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
            continue
        yield match.start(), match.end(), f"[ssn •••-••-{serial}]"


# --- IBANs ----------------------------------------------------------------------------------

_IBAN = re.compile(
    r"[A-Z][A-Z][0-9][0-9](?<![0-9A-Za-z]....)"
    r"(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,8}(?: [A-Z0-9]{1,3})?)"
    r"(?![0-9A-Za-z])"
)
_IBAN_MIN_CHARS = 15
_IBAN_MAX_CHARS = 34


def iban_ok(iban: str) -> bool:
    """Whether a compact, upper-case IBAN passes the ISO 13616 mod-97 check."""
    if not _IBAN_MIN_CHARS <= len(iban) <= _IBAN_MAX_CHARS:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _find_ibans(text: str) -> Iterator[_Match]:
    for match in _IBAN.finditer(text):
        blocks = match.group().split(" ")
        # A grouped IBAN followed by a number ("… 1332 2024") matches one block too many, so
        # drop trailing blocks until the check holds.
        for count in range(len(blocks), 0, -1):
            iban = "".join(blocks[:count])
            if iban_ok(iban):
                end = match.start() + len(" ".join(blocks[:count]))
                yield match.start(), end, f"[iban {iban[:2]}•• ••••{iban[-4:]}]"
                break


# --- secrets --------------------------------------------------------------------------------

# Each pattern comes with lower-case literals of which at least one must occur in the text for
# the pattern to run: for patterns that open with a character class a substring test is far
# cheaper than the regex scan. Patterns that open with a literal are already that fast: ().
_TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    # Authorization-style bearer token; only the token is masked, so "Bearer" stays.
    (re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+([A-Za-z0-9._~+/=-]{16,})"), ("bearer",)),
    # JSON Web Token: three base64url segments; the header always starts with eyJ ('{"').
    (re.compile(r"eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), ()),
    # Stripe secret and restricted keys.
    (
        re.compile(r"[rs]k_(?:live|test)_(?<![0-9A-Za-z].{8})[A-Za-z0-9]{10,}"),
        ("k_live_", "k_test_"),
    ),
    # AWS access key ids (long-term and temporary).
    (re.compile(r"A[KS]IA(?<![0-9A-Za-z].{4})[0-9A-Z]{16}(?![0-9A-Za-z])"), ()),
    # GitHub tokens: classic, OAuth, app, user-to-server, refresh, and fine-grained.
    (re.compile(r"gh[oprsu]_(?<![0-9A-Za-z].{4})[A-Za-z0-9]{20,}"), ()),
    (re.compile(r"github_pat_(?<![0-9A-Za-z].{11})[A-Za-z0-9_]{22,}"), ()),
    # Slack tokens.
    (re.compile(r"xox[abprs]-(?<![0-9A-Za-z].{5})[A-Za-z0-9-]{10,}"), ()),
)

# api_key=…, "password": "…", SECRET: …, token => … (matched on a lower-cased copy). Only the
# value is masked; the key name, quotes and separator stay. The key may carry any prefix
# (access_token, db_password, client_secret); a bare "key" needs one of _KEY_QUALIFIERS.
_KEY_VALUE = re.compile(
    r"(?:key|token|passw(?:or)?d|secret)[\"']?[ \t]*(?:=>|[:=])[ \t]*"
    r"(?:\"((?:[^\"\\\r\n]|\\.)+)\"|'((?:[^'\\\r\n]|\\.)+)'|[\"']?([^\s\"'&=:>][^\s\"'&]*))"
)
_KEY_ROOTS = ("key", "token", "passw", "secret")
_KEY_QUALIFIERS = tuple(
    word + separator
    for word in ("api", "access", "secret", "private")
    for separator in ("", "_", "-")
)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _lower(text: str) -> str:
    """``text`` lower-cased with every character at the same index as in ``text``."""
    lowered = text.lower()
    if len(lowered) != len(text):
        # Only U+0130 (İ) lower-cases to two characters; fall back to ASCII-only lowering.
        lowered = text.translate(_ASCII_LOWER)
    return lowered


def _find_tokens(text: str) -> Iterator[_Match]:
    lowered = _lower(text)
    for pattern, literals in _TOKEN_PATTERNS:
        if literals and not any(literal in lowered for literal in literals):
            continue
        for match in pattern.finditer(text):
            start, end = match.span(match.lastindex or 0)
            yield start, end, CREDENTIAL_MASK


def _find_key_values(text: str) -> Iterator[_Match]:
    # Finding the key words with str.find and matching only there is several times faster than
    # scanning the whole text with one regex.
    lowered = _lower(text)
    for root in _KEY_ROOTS:
        at = lowered.find(root)
        while at >= 0:
            if root != "key" or lowered.endswith(_KEY_QUALIFIERS, 0, at):
                match = _KEY_VALUE.match(lowered, at)
                if match:
                    group = match.lastindex or 0
                    yield match.start(group), match.end(group), CREDENTIAL_MASK
            at = lowered.find(root, at + 1)


_BUILT_IN_FINDERS: tuple[_Finder, ...] = (
    _find_ibans,
    _find_cards,
    _find_ssns,
    _find_tokens,
    _find_key_values,
)
_BUILT_IN_MASKS = (
    r"card ••••[0-9]{4}",
    r"ssn •••-••-[0-9]{4}",
    r"iban [A-Z]{2}•• ••••[A-Z0-9]{4}",
    r"secret",
)


# --- configured rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class RedactionRule:
    """A configured rule: every match of ``pattern`` becomes ``[<label>]``.

    Raises :class:`MappingError` when a field is unusable; problems name the field, never its
    value.
    """

    name: str
    pattern: str
    label: str

    def __post_init__(self) -> None:
        problems = [
            Problem(field, message)
            for field, message in _rule_problems(
                {"name": self.name, "pattern": self.pattern, "label": self.label}
            )
        ]
        if problems:
            raise MappingError(problems)


def _rule_problems(rule: dict[Any, Any]) -> list[tuple[str, str]]:
    """(field, message) for each problem of one rule given as a mapping."""
    problems: list[tuple[str, str]] = []
    for key in rule:
        if key not in ("name", "pattern", "label"):
            problems.append((str(key), "unknown key; a rule has name, pattern and label"))
    for field in ("name", "pattern", "label"):
        value = rule.get(field)
        if field not in rule or value is None:
            problems.append((field, "required"))
        elif not isinstance(value, str):
            problems.append((field, f"must be a string, not {type(value).__name__}"))
        elif not value.strip():
            problems.append((field, "must not be empty"))
        elif field == "pattern":
            try:
                compiled = re.compile(value)
            except re.error as exc:
                # exc.msg and exc.pos describe the mistake without quoting the pattern.
                problems.append(
                    (field, f"not a valid regular expression: {exc.msg} at position {exc.pos}")
                )
            else:
                if compiled.fullmatch("") is not None:
                    problems.append((field, "matches the empty string"))
        elif field == "label" and (
            len(value) > MAX_LABEL_CHARS or any(char in value for char in "[]\r\n")
        ):
            problems.append(
                (field, f"at most {MAX_LABEL_CHARS} characters, without '[', ']' or line breaks")
            )
    return problems


def load_rules(path: Path) -> list[RedactionRule]:
    """Read configured redaction rules from a YAML file.

    Raises :class:`MappingError` listing every problem with its path (``rules[1].pattern``) and
    the file name; a missing or unreadable file is a problem too.
    """

    def problem(where: str, message: str) -> Problem:
        return Problem(where, message, path.name)

    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError([problem("", "redaction rules file not found")]) from None
    except UnicodeDecodeError:
        raise MappingError([problem("", "not valid UTF-8")]) from None
    except OSError as exc:
        raise MappingError([problem("", f"cannot be read ({exc.strerror})")]) from None
    except yaml.YAMLError as exc:
        # str(exc) quotes the offending line, which may hold a secret: give the position only.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise MappingError([problem("", f"not valid YAML{where}")]) from None

    if not isinstance(data, dict):
        raise MappingError([problem("", "expected a mapping with 'version' and 'rules'")])
    problems = [
        problem(str(key), "unknown key; expected 'version' and 'rules'")
        for key in data
        if key not in ("version", "rules")
    ]
    if "version" not in data:
        problems.append(problem("version", "required (version: 1)"))
    elif type(data["version"]) is not int or data["version"] != 1:
        problems.append(problem("version", "must be 1"))

    entries = data.get("rules")
    if entries is None:
        problems.append(problem("rules", "required: a list of rules, [] for none"))
        entries = []
    elif not isinstance(entries, list):
        problems.append(problem("rules", "must be a list of rules"))
        entries = []

    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"rules[{index}]"
        if not isinstance(entry, dict):
            problems.append(problem(where, "must be a mapping with name, pattern and label"))
            continue
        problems.extend(problem(f"{where}.{f}", m) for f, m in _rule_problems(entry))
        name = entry.get("name")
        if isinstance(name, str) and name.strip():
            if name in seen:
                problems.append(problem(f"{where}.name", f"duplicates rules[{seen[name]}].name"))
            else:
                seen[name] = index
    if problems:
        raise MappingError(problems)
    return [RedactionRule(e["name"], e["pattern"], e["label"]) for e in entries]


def _rule_finder(rule: RedactionRule) -> _Finder:
    pattern = re.compile(rule.pattern)
    mask = f"[{rule.label}]"

    def find(text: str) -> Iterator[_Match]:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                yield match.start(), match.end(), mask

    return find


# --- the redactor ---------------------------------------------------------------------------


def _outside(
    start: int, end: int, masked: Sequence[tuple[int, int]], masked_ends: Sequence[int]
) -> Iterator[tuple[int, int]]:
    """The parts of [start, end) that do not overlap any already-masked span."""
    index = bisect.bisect_right(masked_ends, start)
    while index < len(masked) and masked[index][0] < end:
        masked_start, masked_end = masked[index]
        if masked_start > start:
            yield start, masked_start
        start = max(start, masked_end)
        index += 1
    if start < end:
        yield start, end


class Redactor:
    """Masks sensitive data with the built-in rules plus ``extra_rules``.

    Immutable once built and safe to share between threads.
    """

    def __init__(self, extra_rules: Sequence[RedactionRule] = ()) -> None:
        self._finders: tuple[_Finder, ...] = _BUILT_IN_FINDERS + tuple(
            _rule_finder(rule) for rule in extra_rules
        )
        labels = sorted({re.escape(rule.label) for rule in extra_rules})
        self._masked = re.compile(r"\[(?:" + "|".join((*_BUILT_IN_MASKS, *labels)) + r")\]")

    def redact(self, text: str) -> str:
        """``text`` with every match of every rule replaced by its mask."""
        # Each pass that changes the text turns at least one unmasked character into a mask
        # that later passes leave alone, so the loop ends well within this bound; it returns at
        # the first pass that changes nothing, which is what makes redact idempotent.
        for _ in range(len(text) + 1):
            masked = self._pass(text)
            if masked is None:
                return text
            text = masked
        return text

    def _pass(self, text: str) -> str | None:
        """One pass of every rule over ``text``; None when there is nothing to mask."""
        masked = [match.span() for match in self._masked.finditer(text)]
        masked_ends = [end for _, end in masked]
        pieces: list[tuple[int, int, int, str]] = []
        for order, find in enumerate(self._finders):
            for start, end, mask in find(text):
                for piece_start, piece_end in _outside(start, end, masked, masked_ends):
                    pieces.append((piece_start, -piece_end, order, mask))
        if not pieces:
            return None
        pieces.sort()
        out: list[str] = []
        done = 0
        for start, negative_end, _, mask in pieces:
            end = -negative_end
            if start < done:
                # Overlaps the mask just written: extend that mask over this match too.
                if end > done:
                    done = end
                continue
            out.append(text[done:start])
            out.append(mask)
            done = end
        out.append(text[done:])
        return "".join(out)

    def redact_handoff(self, handoff: Handoff) -> Handoff:
        """A copy of ``handoff`` with every string masked except those :mod:`core.privacy`
        keeps verbatim (and says why); raises ValidationError when a field kept verbatim carries
        something this redactor masks."""
        return privacy.redact_handoff(self, handoff)


@functools.cache
def default_redactor() -> Redactor:
    """The shared redactor with the built-in rules only."""
    return Redactor()
