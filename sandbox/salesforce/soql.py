"""The SOQL a client like Baton sends, and nothing more: a tokenizer, a recursive-descent
parser and an evaluator over the org's records.

    SELECT field [, field …] FROM object        (a field may be Relationship.Field:
                                                 relations.py)
    [WHERE condition]            comparisons joined by AND or by OR (mixing them needs
                                 parentheses, as in SOQL), with = != <> < <= > >= and
                                 [NOT] IN (…) on string, datetime, date, number, boolean and
                                 null literals (datetime literals unquoted)
    [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] [, …]]
    [LIMIT n]

Anything else is a ``SoqlError`` (answered 400 MALFORMED_QUERY); a field the object lacks is
INVALID_FIELD, an unknown object INVALID_TYPE, a literal of the wrong type INVALID_FIELD.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from baton.sandbox.salesforce import facts
from baton.sandbox.salesforce.errors import SalesforceError, fail
from baton.sandbox.salesforce.relations import relationship_specs
from baton.sandbox.salesforce.schema import FieldSpec

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
    | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
    | (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<name>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "TRUE",
    "FALSE",
    "NULL",
}


class SoqlError(ValueError):
    """A query outside the supported shapes (MALFORMED_QUERY)."""


@dataclass(frozen=True)
class Token:
    """One token: its kind, its value and where it starts."""

    kind: str
    value: Any
    pos: int


@dataclass(frozen=True)
class Comparison:
    """``field op literal`` (``op`` IN / NOT IN take a tuple of literals)."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Junction:
    """Conditions joined by AND or by OR."""

    op: str
    parts: tuple[Condition, ...]


Condition = Comparison | Junction


@dataclass
class Query:
    """A parsed query."""

    fields: list[str]
    sobject: str
    where: Condition | None = None
    order: list[tuple[str, bool, bool]] = field(default_factory=list)  # (field, desc, nulls_last)
    limit: int | None = None


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; SoqlError at the first character that starts none."""
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise SoqlError(f"unexpected token: '{text[pos:].split()[0][:40]}'")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        start = match.start(kind)
        pos = match.end()
        tokens.append(Token(kind, _literal(kind, raw), start))
    return tokens


def _literal(kind: str, raw: str) -> Any:
    if kind == "string":
        body = raw[1:-1]
        out, i = [], 0
        while i < len(body):
            if body[i] == "\\":
                nxt = body[i + 1]
                if nxt not in _ESCAPES:
                    raise SoqlError(f"Invalid string literal '{raw}'. Illegal character sequence")
                out.append(_ESCAPES[nxt])
                i += 2
            else:
                out.append(body[i])
                i += 1
        return "".join(out)
    if kind == "datetime":
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(raw)
    if kind == "number":
        return float(raw)
    return raw


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, *words: str) -> bool:
        tok = self.tokens[self.i] if self.i < len(self.tokens) else None
        return tok is not None and tok.kind == "name" and tok.value.upper() in words

    def next(self) -> Token:
        if self.i >= len(self.tokens):
            raise SoqlError("unexpected end of query")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> None:
        tok = self.next()
        if tok.kind != "name" or tok.value.upper() != word:
            raise SoqlError(f"unexpected token: '{tok.value}'")

    def punct(self, char: str) -> None:
        tok = self.next()
        if tok.kind != "punct" or tok.value != char:
            raise SoqlError(f"unexpected token: '{tok.value}'")

    def name(self) -> str:
        tok = self.next()
        if tok.kind != "name" or tok.value.upper() in _KEYWORDS:
            raise SoqlError(f"unexpected token: '{tok.value}'")
        return str(tok.value)

    def query(self) -> Query:
        self.keyword("SELECT")
        fields = [self.name()]
        while self.tokens[self.i : self.i + 1] and self.tokens[self.i].value == ",":
            self.i += 1
            fields.append(self.name())
        self.keyword("FROM")
        query = Query(fields, self.name())
        if self.peek("WHERE"):
            self.i += 1
            query.where = self.condition()
        if self.peek("ORDER"):
            self.i += 1
            self.keyword("BY")
            query.order.append(self.order_item())
            while self.tokens[self.i : self.i + 1] and self.tokens[self.i].value == ",":
                self.i += 1
                query.order.append(self.order_item())
        if self.peek("LIMIT"):
            self.i += 1
            tok = self.next()
            if tok.kind != "number" or tok.value != int(tok.value) or tok.value < 0:
                raise SoqlError(f"unexpected token: '{tok.value}'")
            query.limit = int(tok.value)
        if self.i != len(self.tokens):
            raise SoqlError(f"unexpected token: '{self.tokens[self.i].value}'")
        return query

    def order_item(self) -> tuple[str, bool, bool]:
        name = self.name()
        desc = False
        if self.peek("ASC", "DESC"):
            desc = self.next().value.upper() == "DESC"
        nulls_last = desc
        if self.peek("NULLS"):
            self.i += 1
            if not self.peek("FIRST", "LAST"):
                raise SoqlError("unexpected token after NULLS")
            nulls_last = self.next().value.upper() == "LAST"
        return name, desc, nulls_last

    def condition(self) -> Condition:
        parts = [self.atom()]
        joiner: str | None = None
        while self.peek("AND", "OR"):
            word = self.next().value.upper()
            if joiner is not None and word != joiner:
                raise SoqlError(f"unexpected token: '{word}' (mixing AND and OR needs parentheses)")
            joiner = word
            parts.append(self.atom())
        return parts[0] if joiner is None else Junction(joiner, tuple(parts))

    def atom(self) -> Condition:
        tok = self.tokens[self.i] if self.i < len(self.tokens) else None
        if tok is not None and tok.kind == "punct" and tok.value == "(":
            self.i += 1
            inner = self.condition()
            self.punct(")")
            return inner
        name = self.name()
        if self.peek("NOT", "IN"):
            negate = self.next().value.upper() == "NOT"
            if negate:
                self.keyword("IN")
            self.punct("(")
            values = [self.value()]
            while self.tokens[self.i : self.i + 1] and self.tokens[self.i].value == ",":
                self.i += 1
                values.append(self.value())
            self.punct(")")
            return Comparison(name, "NOT IN" if negate else "IN", tuple(values))
        op = self.next()
        if op.kind != "op":
            raise SoqlError(f"unexpected token: '{op.value}'")
        return Comparison(name, "!=" if op.value == "<>" else op.value, self.value())

    def value(self) -> Any:
        tok = self.next()
        if tok.kind in ("string", "datetime", "date", "number"):
            return tok.value
        if tok.kind == "name" and tok.value.upper() in ("TRUE", "FALSE"):
            return tok.value.upper() == "TRUE"
        if tok.kind == "name" and tok.value.upper() == "NULL":
            return None
        raise SoqlError(f"unexpected token: '{tok.value}'")


def parse(text: str) -> Query:
    """Parse ``text``; SoqlError if it is not one of the supported shapes."""
    return _Parser(text).query()


# ---- evaluation --------------------------------------------------------------------------


def malformed(exc: SoqlError) -> SalesforceError:
    """The 400 MALFORMED_QUERY answer for ``exc``."""
    return fail(400, facts.MALFORMED_QUERY, str(exc))


def resolve(query: Query, schemas: dict[str, dict[str, FieldSpec]]) -> dict[str, FieldSpec]:
    """Check the query's object, fields and literal types; the specs by folded name."""
    objects = {name.casefold(): name for name in schemas}
    if query.sobject.casefold() not in objects:
        message = f"sObject type '{query.sobject}' is not supported."
        raise fail(400, facts.INVALID_TYPE, message)
    query.sobject = objects[query.sobject.casefold()]
    specs = {name.casefold(): spec for name, spec in schemas[query.sobject].items()}
    names = [*query.fields, *(o[0] for o in query.order), *_condition_fields(query.where)]
    specs.update(relationship_specs(query.sobject, names, schemas))
    for name in names:
        if name.casefold() not in specs:
            message = facts.INVALID_FIELD_MESSAGE.format(field=name, sobject=query.sobject)
            raise fail(400, facts.INVALID_FIELD, message)
    _check_types(query.where, specs)
    return specs


def _condition_fields(cond: Condition | None) -> list[str]:
    if cond is None:
        return []
    if isinstance(cond, Comparison):
        return [cond.field]
    return [name for part in cond.parts for name in _condition_fields(part)]


def _check_types(cond: Condition | None, specs: dict[str, FieldSpec]) -> None:
    if cond is None:
        return
    if isinstance(cond, Junction):
        for part in cond.parts:
            _check_types(part, specs)
        return
    spec = specs[cond.field.casefold()]
    values = cond.value if cond.op in ("IN", "NOT IN") else (cond.value,)
    for value in values:
        if value is None:
            if cond.op not in ("=", "!="):
                raise SoqlError(f"null is only compared with = or != ({cond.field})")
            continue
        wanted = {"datetime": datetime, "boolean": bool, "double": float}.get(spec.type, str)
        if not isinstance(value, wanted) or (wanted is float and isinstance(value, bool)):
            article = "must be of type " + spec.type
            quoted = "and should not be enclosed in quotes" if wanted is not str else ""
            message = f"value of filter criterion for field '{spec.name}' {article} {quoted}"
            raise fail(400, facts.INVALID_FIELD, message.strip())


def matches(cond: Condition | None, record: dict[str, Any], specs: dict[str, FieldSpec]) -> bool:
    """Whether ``record`` satisfies ``cond``."""
    if cond is None:
        return True
    if isinstance(cond, Junction):
        results = (matches(part, record, specs) for part in cond.parts)
        return all(results) if cond.op == "AND" else any(results)
    spec = specs[cond.field.casefold()]
    value = record.get(spec.name)
    if cond.op in ("IN", "NOT IN"):
        inside = any(_equal(value, v) for v in cond.value)
        return inside if cond.op == "IN" else not inside
    if cond.op == "=":
        return _equal(value, cond.value)
    if cond.op == "!=":
        return not _equal(value, cond.value)
    if value is None or cond.value is None:
        return False
    left, right = _comparable(value, spec), _comparable(cond.value, spec)
    return bool(
        {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[cond.op]
    )


def _comparable(value: Any, spec: FieldSpec) -> Any:
    """Text compares without case; ids and references by their characters (base 62 order)."""
    if isinstance(value, str) and spec.type not in ("id", "reference"):
        return value.casefold()
    return value


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, str) and isinstance(right, str):
        if len(left) == 18 and len(right) in (15, 18) and left[:15] == right[:15]:
            return True  # ids compare on their case-sensitive 15 characters
        return left.casefold() == right.casefold()
    return bool(left == right)


def order(rows: list[dict[str, Any]], query: Query, specs: dict[str, FieldSpec]) -> None:
    """Sort ``rows`` in place by the query's ORDER BY."""

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for name, desc, nulls_last in query.order:
            spec = specs[name.casefold()]
            x, y = a.get(spec.name), b.get(spec.name)
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return (1 if x is None else -1) * (1 if nulls_last else -1)
            x, y = _comparable(x, spec), _comparable(y, spec)
            if x != y:
                return (-1 if x < y else 1) * (-1 if desc else 1)
        return 0

    rows.sort(key=functools.cmp_to_key(compare))
