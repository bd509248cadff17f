"""SOQL: the lexer and recursive-descent parser of the subset the simulator answers (statements up to 100,000
characters: SELECT of fields and parent fields, COUNT(), WHERE with =, !=, <, >, <=, >=, LIKE, IN, NOT IN, AND, OR,
NOT and parentheses, ORDER BY with NULLS FIRST/LAST, LIMIT, OFFSET), names resolved against the schema, and its
evaluation over the records a user may see (queryAll: the Recycle Bin's too), with Salesforce's error bodies
(MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, INVALID_QUERY_FILTER_OPERATOR)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sandbox.salesforce.errors import SalesforceApiError, api_error
from sandbox.salesforce.ids import canonical_id
from sandbox.salesforce.schema import ID_KINDS, TEXT_KINDS, FieldDef, SObjectDef
from sandbox.salesforce.state import READ, OrgState, SimUser
from sandbox.salesforce.values import comparable, parse_datetime, record_attributes, render_value

_KEYWORDS = frozenset(
    {
        *("SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY"),
        *("ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL"),
    }
)
_LITERAL_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "double": (int, float),
    "date": (date,),
    "datetime": (datetime,),
}
_LITERAL_EXCLUDED: dict[str, tuple[type, ...]] = {"double": (bool,), "date": (datetime,)}
_KIND_LABELS = {"boolean": "boolean", "double": "double", "date": "date", "datetime": "dateTime"}
_TOKEN_RE = re.compile(
    r"""(?P<ws>\s+)
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>[+-]?\d+(?:\.\d+)?)
    |(?P<ident>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),])""",
    re.VERBOSE,
)
# "Maximum length of SOQL statements: by default, 100,000 characters" (Salesforce Developer Limits and Allocations
# Quick Reference, "SOQL and SOSL Limits for Search Queries").
MAX_SOQL_CHARACTERS = 100_000
_STRING_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class SoqlString:
    """A decoded string literal; `chars` keeps whether each char was escaped (matters for LIKE wildcards)."""

    chars: tuple[tuple[str, bool], ...]

    @property
    def value(self) -> str:
        return "".join(ch for ch, _ in self.chars)

    def like_pattern(self) -> re.Pattern[str]:
        parts = []
        for ch, escaped in self.chars:
            if not escaped and ch == "%":
                parts.append(".*")
            elif not escaped and ch == "_":
                parts.append(".")
            else:
                parts.append(re.escape(ch))
        return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int
    value: Any = None

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


class SoqlLexer:
    def __init__(self, soql: str) -> None:
        self.soql = soql

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        pos = 0
        while pos < len(self.soql):
            if self.soql[pos] == "'":
                literal, end = self._string(pos)
                out.append(Token("string", self.soql[pos:end], pos, literal))
                pos = end
                continue
            match = _TOKEN_RE.match(self.soql, pos)
            if match is None:
                raise malformed(self.soql, pos, f"unexpected token: '{self.soql[pos]}'")
            kind = match.lastgroup or ""
            if kind in ("datetime", "date", "number") and self._glued(match.end()):
                raise malformed(self.soql, pos, f"unexpected token: '{self.soql[pos : match.end() + 1]}'")
            if kind != "ws":
                out.append(Token(kind, match.group(), pos, self._literal(kind, match.group(), pos)))
            pos = match.end()
        out.append(Token("eof", "<EOF>", len(self.soql)))
        return out

    def _glued(self, end: int) -> bool:
        return end < len(self.soql) and (self.soql[end].isalnum() or self.soql[end] in "_.")

    def _literal(self, kind: str, text: str, pos: int) -> Any:
        try:
            if kind == "datetime":
                return parse_datetime(text)
            if kind == "date":
                return date.fromisoformat(text)
        except ValueError:
            raise malformed(self.soql, pos, f"invalid date: {text}") from None
        if kind == "number":
            return float(text) if "." in text else int(text)
        return None

    def _string(self, start: int) -> tuple[SoqlString, int]:
        chars: list[tuple[str, bool]] = []
        pos = start + 1
        while pos < len(self.soql):
            ch = self.soql[pos]
            if ch == "'":
                return SoqlString(tuple(chars)), pos + 1
            if ch != "\\":
                chars.append((ch, False))
                pos += 1
                continue
            decoded, pos = self._escape(pos)
            chars.append((decoded, True))
        raise malformed(self.soql, start, "unterminated string literal")

    def _escape(self, pos: int) -> tuple[str, int]:
        code = self.soql[pos + 1 : pos + 2]
        if code in _STRING_ESCAPES:
            return _STRING_ESCAPES[code], pos + 2
        if code in ("%", "_"):
            return code, pos + 2
        digits = self.soql[pos + 2 : pos + 6]
        if code == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
            return chr(int(digits, 16)), pos + 6
        raise malformed(self.soql, pos, "Invalid string literal: Illegal escape sequence")


def malformed(soql: str, pos: int, detail: str) -> SalesforceApiError:
    return api_error("MALFORMED_QUERY", _positioned(soql, pos, detail))


def _positioned(soql: str, pos: int, detail: str) -> str:
    row = soql.count("\n", 0, pos) + 1
    column = pos - (soql.rfind("\n", 0, pos) + 1) + 1
    line = soql.splitlines()[row - 1] if soql.strip() else soql
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{detail}"


@dataclass(frozen=True)
class FieldPath:
    """A resolved (possibly dotted) field: the reference fields to walk, then the field read at the end."""

    hops: tuple[FieldDef, ...]
    leaf: FieldDef


@dataclass(frozen=True)
class Comparison:
    path: FieldPath
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    path: FieldPath
    values: tuple[Any, ...]
    negated: bool
    keys: frozenset[Any] = frozenset()  # the values as compared (`comparable`), built once per query


@dataclass(frozen=True)
class Like:
    path: FieldPath
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Not:
    inner: Condition


@dataclass(frozen=True)
class BoolOp:
    op: str
    items: tuple[Condition, ...]


Condition = Comparison | InList | Like | Not | BoolOp


@dataclass(frozen=True)
class OrderKey:
    path: FieldPath
    descending: bool
    nulls_first: bool


@dataclass
class SoqlQuery:
    sobject: SObjectDef
    select: list[FieldPath] | None
    where: Condition | None = None
    order: list[OrderKey] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


class SoqlParser:
    """Recursive-descent parser for the SOQL subset; resolves names against the schema as Salesforce does."""

    def __init__(self, soql: str, schema: dict[str, SObjectDef]) -> None:
        self.soql = soql
        self.schema = schema
        self.tokens = SoqlLexer(soql).tokens()
        self.index = 0
        self.sobject: SObjectDef | None = None

    # token helpers
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def unexpected(self, token: Token | None = None) -> SalesforceApiError:
        token = token or self.current
        return malformed(self.soql, token.pos, f"unexpected token: '{token.text}'")

    def expect_keyword(self, *words: str) -> Token:
        if not self.current.is_keyword(*words):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, text: str) -> None:
        if self.current.kind != "punct" or self.current.text != text:
            raise self.unexpected()
        self.advance()

    def at_punct(self, text: str) -> bool:
        return self.current.kind == "punct" and self.current.text == text

    # grammar
    def parse(self) -> SoqlQuery:
        self.expect_keyword("SELECT")
        select_tokens = self._select_list()
        self.expect_keyword("FROM")
        self.sobject = self._from_object()
        query = SoqlQuery(self.sobject, self._resolve_select(select_tokens))
        if self.current.is_keyword("WHERE"):
            self.advance()
            query.where = self._condition()
        if self.current.is_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            query.order = self._order_keys()
        if self.current.is_keyword("LIMIT"):
            self.advance()
            query.limit = self._integer()
        if self.current.is_keyword("OFFSET"):
            self.advance()
            query.offset = self._integer()
        if self.current.kind != "eof":
            raise self.unexpected()
        return query

    def _select_list(self) -> list[Token] | None:
        if self.current.is_keyword("COUNT") and self.tokens[self.index + 1].text == "(":
            self.advance()
            self.expect_punct("(")
            self.expect_punct(")")
            return None
        items = [self._field_token()]
        while self.at_punct(","):
            self.advance()
            items.append(self._field_token())
        return items

    def _field_token(self) -> Token:
        token = self.current
        if token.kind != "ident" or token.text.upper() in _KEYWORDS:
            raise self.unexpected()
        return self.advance()

    def _from_object(self) -> SObjectDef:
        token = self.current
        if token.kind != "ident":
            raise self.unexpected()
        self.advance()
        sobject = next((s for s in self.schema.values() if s.name.lower() == token.text.lower()), None)
        if sobject is None:
            raise api_error(
                "INVALID_TYPE",
                _positioned(
                    self.soql,
                    token.pos,
                    f"sObject type '{token.text}' is not supported. If you are attempting to use a custom object, "
                    "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                ),
            )
        return sobject

    def _resolve_select(self, tokens: list[Token] | None) -> list[FieldPath] | None:
        if tokens is None:
            return None
        paths: list[FieldPath] = []
        for token in tokens:
            path = self._resolve(token)
            if path in paths:
                raise malformed(self.soql, token.pos, f"duplicate field selected: {token.text}")
            paths.append(path)
        return paths

    def _resolve(self, token: Token) -> FieldPath:
        assert self.sobject is not None
        parts = token.text.split(".")
        current = self.sobject
        hops: list[FieldDef] = []
        for part in parts[:-1]:
            hop = current.relationship(part)
            if hop is None or hop.target is None:
                raise self._invalid_field(
                    token,
                    f"Didn't understand relationship '{part}' in field path. If you are attempting to use a custom "
                    "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
                    "your WSDL or the describe call for the appropriate names.",
                )
            hops.append(hop)
            current = self.schema[hop.target]
        leaf = current.field(parts[-1])
        if leaf is None:
            raise self._invalid_field(
                token,
                f"No such column '{parts[-1]}' on entity '{current.name}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                "describe call for the appropriate names.",
            )
        return FieldPath(tuple(hops), leaf)

    def _invalid_field(self, token: Token, detail: str) -> SalesforceApiError:
        return api_error("INVALID_FIELD", _positioned(self.soql, token.pos, detail))

    def _condition(self) -> Condition:
        items = [self._unary()]
        joiner: str | None = None
        while self.current.is_keyword("AND", "OR"):
            word = self.current.text.upper()
            if joiner not in (None, word):
                raise self.unexpected()
            joiner = word
            self.advance()
            items.append(self._unary())
        return items[0] if joiner is None else BoolOp(joiner, tuple(items))

    def _unary(self) -> Condition:
        if self.current.is_keyword("NOT"):
            self.advance()
            return Not(self._unary())
        if self.at_punct("("):
            self.advance()
            inner = self._condition()
            self.expect_punct(")")
            return inner
        return self._predicate()

    def _predicate(self) -> Condition:
        token = self._field_token()
        path = self._resolve(token)
        if self.current.is_keyword("LIKE"):
            self.advance()
            return self._like(token, path)
        if self.current.is_keyword("IN", "NOT"):
            negated = self.current.is_keyword("NOT")
            if negated:
                self.advance()
            self.expect_keyword("IN")
            values = self._value_list(token, path)
            return InList(path, values, negated, frozenset(comparable(v, path.leaf.kind) for v in values))
        if self.current.kind != "op":
            raise self.unexpected()
        op = self.advance().text
        return Comparison(path, "!=" if op == "<>" else op, self._value(token, path))

    def _like(self, token: Token, path: FieldPath) -> Like:
        literal = self.advance()
        if literal.kind != "string":
            raise self.unexpected(literal)
        if path.leaf.kind not in TEXT_KINDS:
            raise api_error(
                "INVALID_QUERY_FILTER_OPERATOR",
                _positioned(self.soql, token.pos, f"invalid operator on {path.leaf.kind} field: {token.text}"),
            )
        return Like(path, literal.value.like_pattern())

    def _value_list(self, token: Token, path: FieldPath) -> tuple[Any, ...]:
        self.expect_punct("(")
        values = [self._value(token, path)]
        while self.at_punct(","):
            self.advance()
            values.append(self._value(token, path))
        self.expect_punct(")")
        return tuple(values)

    def _value(self, field_token: Token, path: FieldPath) -> Any:
        token = self.advance()
        if token.is_keyword("NULL"):
            return None
        if token.is_keyword("TRUE", "FALSE"):
            value: Any = token.text.upper() == "TRUE"
        elif token.kind in ("string", "number", "date", "datetime"):
            value = token.value
        else:
            raise self.unexpected(token)
        return self._typed(field_token, path.leaf, token, value)

    def _typed(self, field_token: Token, leaf: FieldDef, token: Token, value: Any) -> Any:
        if leaf.kind in TEXT_KINDS or leaf.kind in ID_KINDS:
            if not isinstance(value, SoqlString):
                raise self._type_mismatch(field_token, leaf, "string", quoted=True)
            return self._id_literal(token, value.value) if leaf.kind in ID_KINDS else value.value
        allowed = isinstance(value, _LITERAL_TYPES[leaf.kind])
        if not allowed or isinstance(value, _LITERAL_EXCLUDED.get(leaf.kind, ())):
            raise self._type_mismatch(field_token, leaf, _KIND_LABELS[leaf.kind], quoted=False)
        return float(value) if leaf.kind == "double" else value

    def _id_literal(self, token: Token, text: str) -> str:
        normalised = canonical_id(text)
        if normalised is None:
            raise api_error(
                "INVALID_QUERY_FILTER_OPERATOR", _positioned(self.soql, token.pos, f"invalid ID field: {text}")
            )
        return normalised

    def _type_mismatch(self, token: Token, leaf: FieldDef, label: str, quoted: bool) -> SalesforceApiError:
        should = "should" if quoted else "should not"
        return self._invalid_field(
            token,
            f"value of filter criterion for field '{leaf.name}' must be of type {label} and {should} be "
            "enclosed in quotes",
        )

    def _order_keys(self) -> list[OrderKey]:
        keys = [self._order_key()]
        while self.at_punct(","):
            self.advance()
            keys.append(self._order_key())
        return keys

    def _order_key(self) -> OrderKey:
        path = self._resolve(self._field_token())
        descending = False
        if self.current.is_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_first = not descending
        if self.current.is_keyword("NULLS"):
            self.advance()
            nulls_first = self.expect_keyword("FIRST", "LAST").text.upper() == "FIRST"
        return OrderKey(path, descending, nulls_first)

    def _integer(self) -> int:
        token = self.advance()
        if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
            raise self.unexpected(token)
        return token.value


class SoqlEngine(OrgState):
    """Runs parsed queries over the org's records as a user sees them; with `include_deleted` (the queryAll
    resource) over the Recycle Bin too, where records have IsDeleted = true."""

    def _query(
        self, soql: str, version: str, user: SimUser | None = None, *, include_deleted: bool = False
    ) -> dict[str, Any]:
        if not soql.strip():
            raise api_error("MALFORMED_QUERY", "SOQL statement cannot be empty")
        if len(soql) > MAX_SOQL_CHARACTERS:
            raise api_error(
                "MALFORMED_QUERY", f"SOQL statements cannot be longer than {MAX_SOQL_CHARACTERS} characters"
            )
        query = SoqlParser(soql, self.schema).parse()
        name = query.sobject.name
        candidates = list(self._data[name].values())
        if include_deleted:
            candidates.extend(self._deleted[name].values())
        rows = [
            rec for rec in candidates if self._access(name, rec, user) >= READ and self._matches(rec, query.where, user)
        ]
        for key in reversed(query.order):
            rows = self._sorted(rows, key, user)
        rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        if query.select is None:
            return {"totalSize": len(rows), "done": True, "records": []}
        records = [self._render_row(query.sobject, rec, query.select, version, user) for rec in rows]
        return {"totalSize": len(records), "done": True, "records": records}

    def _parent(self, record: dict[str, Any] | None, hop: FieldDef, user: SimUser | None) -> dict[str, Any] | None:
        """The record a reference points at, as `user` sees it (a parent they can't read reads as null)."""
        parent_id = record.get(hop.name) if record else None
        parent = self._data[hop.target or ""].get(parent_id) if parent_id else None
        if parent is None or self._access(hop.target or "", parent, user) < READ:
            return None
        return parent

    def _value(self, record: dict[str, Any], path: FieldPath, user: SimUser | None) -> Any:
        current: dict[str, Any] | None = record
        for hop in path.hops:
            current = self._parent(current, hop, user)
        return None if current is None else current.get(path.leaf.name)

    def _matches(self, record: dict[str, Any], condition: Condition | None, user: SimUser | None) -> bool:
        if condition is None:
            return True
        if isinstance(condition, BoolOp):
            results = (self._matches(record, item, user) for item in condition.items)
            return all(results) if condition.op == "AND" else any(results)
        if isinstance(condition, Not):
            return not self._matches(record, condition.inner, user)
        kind = condition.path.leaf.kind
        actual = comparable(self._value(record, condition.path, user), kind)
        if isinstance(condition, Like):
            return actual is not None and condition.pattern.fullmatch(str(actual)) is not None
        if isinstance(condition, InList):
            return (actual in condition.keys) != condition.negated
        return _compare(actual, condition.op, comparable(condition.value, kind))

    def _sorted(self, rows: list[dict[str, Any]], key: OrderKey, user: SimUser | None) -> list[dict[str, Any]]:
        kind = key.path.leaf.kind
        present = [r for r in rows if self._value(r, key.path, user) is not None]
        missing = [r for r in rows if self._value(r, key.path, user) is None]
        present.sort(key=lambda r: comparable(self._value(r, key.path, user), kind), reverse=key.descending)
        return missing + present if key.nulls_first else present + missing

    def _render_row(
        self, sobj: SObjectDef, record: dict[str, Any], select: list[FieldPath], version: str, user: SimUser | None
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"attributes": record_attributes(sobj.name, record["Id"], version)}
        for path in select:
            self._place(row, record, path, version, user)
        return row

    def _place(
        self, row: dict[str, Any], record: dict[str, Any], path: FieldPath, version: str, user: SimUser | None
    ) -> None:
        target, current = row, record
        for hop in path.hops:
            parent = self._parent(current, hop, user)
            name = hop.relationship or hop.name
            if parent is None:
                target[name] = None
                return
            if not isinstance(target.get(name), dict):
                target[name] = {"attributes": record_attributes(hop.target or "", parent["Id"], version)}
            target, current = target[name], parent
        target[path.leaf.name] = render_value(current.get(path.leaf.name))


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "=":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    comparisons: dict[str, Callable[[Any, Any], Any]] = {
        "<": operator.lt,
        ">": operator.gt,
        "<=": operator.le,
        ">=": operator.ge,
    }
    return bool(comparisons[op](actual, expected))
