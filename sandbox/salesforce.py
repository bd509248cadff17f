"""Salesforce simulator over HTTPS: OAuth 2.0 token grants (client credentials, JWT bearer), REST query with a
real SOQL subset, sObject create/get/update/delete, Composite and sObject Tree (all-or-none), duplicate rules and
18-character case-safe Ids, answering in Salesforce's documented wire formats and error bodies."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import operator
import re
import secrets
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.wrappers import Request, Response

from sandbox.core import SimServer, json_response

API_USAGE_LIMIT = 15000
DEFAULT_VERSION = "62.0"
DEFAULT_CLIENT_ID = "3MVG9sandbox.client.id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_USERNAME = "integration@sandbox.example.com"
JWT_MAX_LIFETIME = 180.0
JWT_CLOCK_SKEW = 5.0
MAX_COMPOSITE_SUBREQUESTS = 25
MAX_TREE_RECORDS = 200
HALTED_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."
DUPLICATE_MESSAGE = "You're creating a duplicate record. We recommend you use an existing record instead."
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_SESSION_BODY = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

_CHECKSUM_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TEXT_KINDS = frozenset({"string", "email", "url", "phone", "picklist", "textarea"})
_ID_KINDS = frozenset({"id", "reference"})
_FIELD_KINDS = _TEXT_KINDS | {"boolean", "double", "date", "datetime"}
_SYSTEM_FIELDS = frozenset({"Id", "IsDeleted", "CreatedDate", "LastModifiedDate"})
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATA_PATH_RE = re.compile(r"/services/data/v(\d+\.\d)(?:/(.*))?")
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REFERENCE_ID_RE = re.compile(r"[A-Za-z0-9_]+")


def to_18(id15: str) -> str:
    """Append Salesforce's case-safe checksum (3 chars, one per 5-char chunk, bit i = char i is A-Z)."""
    if len(id15) != 15 or not id15.isascii() or not id15.isalnum():
        raise ValueError(f"not a 15-character Salesforce Id: {id15!r}")
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_CHARS[bits]
    return id15 + suffix


def canonical_id(value: Any) -> str | None:
    """The 18-character Id for a 15- or 18-character one (letter case restored from the suffix), else None."""
    if not isinstance(value, str) or not value.isascii() or not value.isalnum() or len(value) not in (15, 18):
        return None
    if len(value) == 15:
        return to_18(value)
    suffix = value[15:].upper()
    if any(ch not in _CHECKSUM_CHARS for ch in suffix):
        return None
    restored = []
    for chunk, code in enumerate(suffix):
        bits = _CHECKSUM_CHARS.index(code)
        for i, ch in enumerate(value[chunk * 5 : chunk * 5 + 5]):
            upper = bool(bits >> i & 1)
            if upper and not ch.isalpha():
                return None
            restored.append(ch.upper() if upper else ch.lower())
    return to_18("".join(restored))


DEFAULT_ORG_ID = to_18("00D8d000002SbXq")


def format_datetime(value: datetime) -> str:
    """Salesforce's dateTime wire format: 2026-11-23T18:00:00.000+0000."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_datetime(text: str) -> datetime:
    normalised = text.replace("Z", "+00:00")
    normalised = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", normalised)
    parsed = datetime.fromisoformat(normalised)
    if parsed.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return parsed.astimezone(UTC)


# --- errors ----------------------------------------------------------------------------------------------------


class SalesforceApiError(Exception):
    """A Salesforce error answer: HTTP status and the JSON body Salesforce would send."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, list) and self.body and isinstance(self.body[0], dict):
            return self.body[0].get("errorCode")
        return None


def api_error(code: str, message: str, status: int = 400, fields: list[str] | None = None) -> SalesforceApiError:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return SalesforceApiError(status, [item])


def _not_found() -> SalesforceApiError:
    return api_error("NOT_FOUND", "The requested resource does not exist", 404)


def _json_parser_error(message: str) -> SalesforceApiError:
    return api_error("JSON_PARSER_ERROR", message)


# --- schema ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: str = "string"
    target: str | None = None
    relationship: str | None = None
    child_relationship: str | None = None
    required: bool = False
    writable: bool = True


@dataclass
class SObjectDef:
    name: str
    prefix: str
    fields: dict[str, FieldDef]
    children: dict[str, tuple[str, FieldDef]] = field(default_factory=dict)

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        return next((f for f in self.fields.values() if f.relationship and f.relationship.lower() == lowered), None)

    def add(self, definition: FieldDef) -> None:
        self.fields[definition.name.lower()] = definition


def _address(prefix: str) -> list[FieldDef]:
    return [FieldDef(f"{prefix}{part}") for part in ("Street", "City", "State", "PostalCode", "Country")]


def _owner() -> FieldDef:
    return FieldDef("OwnerId", "reference", target="User", relationship="Owner")


def _system_fields() -> list[FieldDef]:
    return [
        FieldDef("Id", "id", writable=False),
        FieldDef("IsDeleted", "boolean", writable=False),
        FieldDef("CreatedDate", "datetime", writable=False),
        FieldDef("LastModifiedDate", "datetime", writable=False),
    ]


def _type_fields(person_accounts: bool) -> dict[str, tuple[str, list[FieldDef]]]:
    person = [FieldDef("IsPersonAccount", "boolean", writable=False), FieldDef("PersonEmail", "email")]
    return {
        "Account": (
            "001",
            [
                FieldDef("Name", required=True),
                FieldDef("Website", "url"),
                FieldDef("Phone", "phone"),
                FieldDef("Type", "picklist"),
                FieldDef("AccountSource", "picklist"),
                FieldDef("Industry", "picklist"),
                FieldDef("Description", "textarea"),
                *_address("Billing"),
                *_address("Shipping"),
                _owner(),
                *(person if person_accounts else []),
            ],
        ),
        "Contact": (
            "003",
            [
                FieldDef("AccountId", "reference", "Account", "Account", "Contacts"),
                FieldDef("FirstName"),
                FieldDef("LastName", required=True),
                FieldDef("Name", writable=False),
                FieldDef("Email", "email"),
                FieldDef("Phone", "phone"),
                FieldDef("Title"),
                *_address("Mailing"),
                _owner(),
            ],
        ),
        "User": (
            "005",
            [
                FieldDef("Username", required=True),
                FieldDef("Email", "email"),
                FieldDef("FirstName"),
                FieldDef("LastName"),
                FieldDef("Name", writable=False),
                FieldDef("IsActive", "boolean"),
            ],
        ),
        "Product2": (
            "01t",
            [
                FieldDef("Name", required=True),
                FieldDef("ProductCode"),
                FieldDef("Family", "picklist"),
                FieldDef("Description", "textarea"),
                FieldDef("IsActive", "boolean"),
            ],
        ),
        "Pricebook2": (
            "01s",
            [
                FieldDef("Name", required=True),
                FieldDef("Description", "textarea"),
                FieldDef("IsActive", "boolean"),
                FieldDef("IsStandard", "boolean", writable=False),
            ],
        ),
        "Order": (
            "801",
            [
                FieldDef("AccountId", "reference", "Account", "Account", "Orders", required=True),
                FieldDef("Pricebook2Id", "reference", "Pricebook2", "Pricebook2"),
                FieldDef("OrderNumber", writable=False),
                FieldDef("EffectiveDate", "date", required=True),
                FieldDef("EndDate", "date"),
                FieldDef("Status", "picklist", required=True),
                FieldDef("Description", "textarea"),
                _owner(),
            ],
        ),
        "OrderItem": (
            "802",
            [
                FieldDef("OrderId", "reference", "Order", "Order", "OrderItems", required=True),
                FieldDef("Product2Id", "reference", "Product2", "Product2"),
                FieldDef("Quantity", "double", required=True),
                FieldDef("UnitPrice", "double", required=True),
                FieldDef("ServiceDate", "date"),
                FieldDef("EndDate", "date"),
                FieldDef("Description", "textarea"),
            ],
        ),
    }


def build_schema(person_accounts: bool) -> dict[str, SObjectDef]:
    schema = {
        name: SObjectDef(name, prefix, {f.name.lower(): f for f in [*_system_fields(), *fields]})
        for name, (prefix, fields) in _type_fields(person_accounts).items()
    }
    for sobject in schema.values():
        for definition in sobject.fields.values():
            if definition.child_relationship and definition.target:
                schema[definition.target].children[definition.child_relationship.lower()] = (sobject.name, definition)
    return schema


# --- values ----------------------------------------------------------------------------------------------------


def render_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _comparable(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind in _TEXT_KINDS:
        return str(value).lower()
    if kind in _ID_KINDS:
        return canonical_id(value) or str(value)
    return value


def _attributes(type_name: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": type_name, "url": f"/services/data/v{version}/sobjects/{type_name}/{record_id}"}


# --- SOQL ------------------------------------------------------------------------------------------------------


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
                return _parse_datetime(text)
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
            return InList(path, self._value_list(token, path), negated)
        if self.current.kind != "op":
            raise self.unexpected()
        op = self.advance().text
        return Comparison(path, "!=" if op == "<>" else op, self._value(token, path))

    def _like(self, token: Token, path: FieldPath) -> Like:
        literal = self.advance()
        if literal.kind != "string":
            raise self.unexpected(literal)
        if path.leaf.kind not in _TEXT_KINDS:
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
        if leaf.kind in _TEXT_KINDS or leaf.kind in _ID_KINDS:
            if not isinstance(value, SoqlString):
                raise self._type_mismatch(field_token, leaf, "string", quoted=True)
            return self._id_literal(token, value.value) if leaf.kind in _ID_KINDS else value.value
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


# --- the simulator ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateRule:
    sobject: str
    field: str
    name: str
    matching_rule: str


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class _UnresolvedReferenceError(Exception):
    pass


Store = dict[str, dict[str, dict[str, Any]]]


class SalesforceSim(SimServer):
    """Salesforce org over HTTPS on loopback. Tests drive it with real simple-salesforce / requests calls and seed
    or inspect data through `insert`, `records`, `get`, `query`, `update`."""

    name = "salesforce"

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        org_id: str = DEFAULT_ORG_ID,
        jwt_public_key_pem: str | None = None,
        jwt_username: str = DEFAULT_USERNAME,
        jwt_audience: str = "https://login.salesforce.com",
        person_accounts: bool = False,
        api_latency: float = 0.0,
        session_timeout: float | None = None,
        duplicate_result_key: str = "duplicateResut",
    ) -> None:
        super().__init__(ssl_context, latency=api_latency)
        normalised_org = canonical_id(org_id)
        if normalised_org is None or not normalised_org.startswith("00D"):
            raise ValueError(f"org_id must be a 15/18-character 00D Id, got {org_id!r}")
        self.client_id = client_id
        self.client_secret = client_secret
        self.org_id = normalised_org
        self.jwt_username = jwt_username
        self.jwt_audience = jwt_audience
        self.person_accounts = person_accounts
        self.session_timeout = session_timeout
        self.duplicate_result_key = duplicate_result_key
        self._jwt_key = _load_public_key(jwt_public_key_pem) if jwt_public_key_pem else None
        self.schema = build_schema(person_accounts)
        self._tokens: dict[str, float] = {}
        self._id_seq = 0
        self._order_seq = 100
        self._api_calls = 0
        self._data: Store = {}
        self._duplicate_rules: list[DuplicateRule] = []
        self.user_id = self._new_id("User")
        self._seed()

    # --- Python API for tests ------------------------------------------------------------------------------
    def reset_state(self) -> None:
        """Drop all records and duplicate rules; keep credentials, issued tokens, custom fields and the user."""
        with self.lock:
            self._duplicate_rules.clear()
            self._seed()

    def add_field(self, sobject: str, name: str, kind: str = "string") -> None:
        """Register a custom field (e.g. `Email_Domain__c`); kind: string/email/url/boolean/double/date/datetime."""
        if kind not in _FIELD_KINDS:
            raise ValueError(f"unsupported field kind {kind!r}")
        with self.lock:
            self._sobject(sobject).add(FieldDef(name, kind))

    def enable_duplicate_rule(self, sobject: str, field_name: str, rule_name: str | None = None) -> DuplicateRule:
        """Block inserts whose `field_name` equals (trimmed, case-insensitive) an existing record's value."""
        with self.lock:
            sobj = self._sobject(sobject)
            definition = sobj.field(field_name)
            if definition is None:
                raise ValueError(f"no field {field_name!r} on {sobj.name}")
            rule = DuplicateRule(
                sobj.name,
                definition.name,
                rule_name or f"Sandbox_{sobj.name}_{definition.name}_Duplicate_Rule",
                f"Sandbox_{sobj.name}_{definition.name}_Matching_Rule",
            )
            self._duplicate_rules.append(rule)
            return rule

    def disable_duplicate_rules(self) -> None:
        with self.lock:
            self._duplicate_rules.clear()

    def insert(self, sobject: str, fields: dict[str, Any], created_date: datetime | None = None) -> str:
        """Seed a record (validated like the API, duplicate rules not applied); returns its 18-character Id."""
        fields = dict(fields)
        stamp = fields.pop("CreatedDate", None) if created_date is None else created_date
        created = _parse_datetime(stamp) if isinstance(stamp, str) else stamp
        with self.lock:
            sobj = self._sobject(sobject)
            return self._create(sobj, fields, DEFAULT_VERSION, duplicates=False, created=created, seeding=True)

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        with self.lock:
            self._update(self._sobject(sobject), record_id, fields)

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Copies of every record of a type, in creation order, with values in wire format."""
        with self.lock:
            sobj = self._sobject(sobject)
            return [self._render_record(sobj, rec) for rec in self._data[sobj.name].values()]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            sobj = self._sobject(sobject)
            rec = self._data[sobj.name].get(canonical_id(record_id) or "")
            return None if rec is None else self._render_record(sobj, rec)

    def query(self, soql: str, version: str = DEFAULT_VERSION) -> dict[str, Any]:
        """Run SOQL as the REST query resource would; raises SalesforceApiError with Salesforce's error body."""
        with self.lock:
            return self._query(soql, version)

    def issue_token(self) -> str:
        """A valid access token without an HTTP round trip."""
        with self.lock:
            token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}"
            self._tokens[token] = time.monotonic()
            return token

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next API call answers 401 INVALID_SESSION_ID)."""
        with self.lock:
            self._tokens.clear()

    @property
    def identity_url(self) -> str:
        return f"{self.url}/id/{self.org_id}/{self.user_id}"

    # --- HTTP ----------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") == "/services/oauth2/token":
            return self._token_endpoint(request)
        match = _DATA_PATH_RE.fullmatch(request.path)
        if match is None:
            return _to_response(Reply(404, _not_found().body))
        with self.lock:
            if not self._authorised(request.headers.get("Authorization", "")):
                return _to_response(Reply(401, INVALID_SESSION_BODY, {"WWW-Authenticate": "Token"}))
            self._api_calls += 1
            reply = self._safely(lambda: self._data_request(request, match.group(1), match.group(2) or ""))
            reply.headers["Sforce-Limit-Info"] = f"api-usage={self._api_calls}/{API_USAGE_LIMIT}"
        return _to_response(reply)

    def _safely(self, action: Callable[[], Reply]) -> Reply:
        try:
            return action()
        except SalesforceApiError as exc:
            return Reply(exc.status, exc.body)

    def _authorised(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        issued = self._tokens.get(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        if issued is None:
            return False
        return self.session_timeout is None or time.monotonic() - issued < self.session_timeout

    def _data_request(self, request: Request, version: str, rest: str) -> Reply:
        body = _json_body(request.get_data(cache=True)) if request.method in ("POST", "PATCH", "PUT") else None
        args = {key: request.args.getlist(key) for key in request.args}
        return self._route(request.method, version, rest, args, body, top_level=True)

    def _route(
        self, method: str, version: str, rest: str, args: dict[str, list[str]], body: Any, *, top_level: bool
    ) -> Reply:
        parts = [part for part in rest.split("/") if part]
        if parts in (["query"], ["queryAll"]):
            _allow(method, "GET")
            soql = (args.get("q") or [""])[0]
            return Reply(200, self._query(soql, version))
        if len(parts) == 2 and parts[0] == "sobjects":
            _allow(method, "POST")
            return self._create_reply(self._sobject_or_404(parts[1]), body, version)
        if len(parts) == 3 and parts[0] == "sobjects":
            return self._record_reply(method, self._sobject_or_404(parts[1]), parts[2], args, body, version)
        if top_level and parts == ["composite"]:
            _allow(method, "POST")
            return self._composite(version, body)
        if top_level and len(parts) == 3 and parts[:2] == ["composite", "tree"]:
            _allow(method, "POST")
            return self._tree(self._sobject_or_404(parts[2]), body, version)
        raise _not_found()

    def _create_reply(self, sobj: SObjectDef, body: Any, version: str) -> Reply:
        record_id = self._create(sobj, _object_body(body), version, duplicates=True)
        location = f"/services/data/v{version}/sobjects/{sobj.name}/{record_id}"
        return Reply(201, {"id": record_id, "success": True, "errors": []}, {"Location": location})

    def _record_reply(
        self, method: str, sobj: SObjectDef, raw_id: str, args: dict[str, list[str]], body: Any, version: str
    ) -> Reply:
        _allow(method, "GET", "PATCH", "DELETE")
        record_id = canonical_id(raw_id)
        record = self._data[sobj.name].get(record_id or "")
        if record is None or record_id is None:
            raise _not_found()
        if method == "PATCH":
            self._update(sobj, record_id, _object_body(body))
            return Reply(204)
        if method == "DELETE":
            del self._data[sobj.name][record_id]
            return Reply(204)
        wanted = [name for value in args.get("fields", []) for name in value.split(",") if name.strip()]
        return Reply(200, self._render_get(sobj, record, wanted, version))

    def _render_get(self, sobj: SObjectDef, record: dict[str, Any], wanted: list[str], version: str) -> dict[str, Any]:
        definitions = list(sobj.fields.values())
        if wanted:
            definitions = [self._field_or_error(sobj, name.strip()) for name in wanted]
        out: dict[str, Any] = {"attributes": _attributes(sobj.name, record["Id"], version)}
        out.update({d.name: render_value(record.get(d.name)) for d in definitions})
        return out

    # --- OAuth ---------------------------------------------------------------------------------------------
    def _token_endpoint(self, request: Request) -> Response:
        if request.method != "POST":
            return _oauth_error("invalid_request", "must use HTTP POST", 405)
        form = request.form
        grant = form.get("grant_type", "")
        with self.lock:
            if grant == "client_credentials":
                failure = self._check_client_credentials(request)
            elif grant == JWT_GRANT:
                failure = self._check_jwt(form.get("assertion", ""))
            else:
                failure = ("unsupported_grant_type", "grant type not supported")
            if failure is not None:
                return _oauth_error(*failure)
            return json_response(self._token_body(), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _check_client_credentials(self, request: Request) -> tuple[str, str] | None:
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username, auth.password
        if client_id != self.client_id:
            return "invalid_client_id", "client identifier invalid"
        if not secret or not hmac.compare_digest(secret, self.client_secret):
            return "invalid_client", "invalid client credentials"
        return None

    def _check_jwt(self, assertion: str) -> tuple[str, str] | None:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return "invalid_grant", "invalid assertion"
        if unverified.get("iss") != self.client_id:
            return "invalid_client_id", "client identifier invalid"
        if self._jwt_key is None:
            return "invalid_grant", "invalid assertion"
        try:
            claims = jwt.decode(
                assertion,
                self._jwt_key,
                algorithms=["RS256"],
                audience=self.jwt_audience,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return "invalid_grant", "expired authorization code"
        except jwt.InvalidAudienceError:
            return "invalid_grant", "audience is invalid"
        except jwt.PyJWTError:
            return "invalid_grant", "invalid assertion"
        if float(claims["exp"]) > time.time() + JWT_MAX_LIFETIME + JWT_CLOCK_SKEW:
            return "invalid_grant", "invalid assertion"
        if claims["sub"] != self.jwt_username:
            return "invalid_grant", "user hasn't approved this consumer"
        return None

    def _token_body(self) -> dict[str, str]:
        issued_at = str(int(time.time() * 1000))
        identity = self.identity_url
        digest = hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        return {
            "access_token": self.issue_token(),
            "signature": base64.b64encode(digest).decode(),
            "scope": "api",
            "instance_url": self.url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    # --- records -------------------------------------------------------------------------------------------
    def _seed(self) -> None:
        self._data = {name: {} for name in self.schema}
        user: dict[str, Any] = {"Username": self.jwt_username, "Email": self.jwt_username, "IsActive": True}
        user |= {"FirstName": "Integration", "LastName": "User"}
        self._store(self.schema["User"], self.user_id, self._coerce(self.schema["User"], user), None)

    def _sobject(self, name: str) -> SObjectDef:
        found = next((s for s in self.schema.values() if s.name.lower() == name.lower()), None)
        if found is None:
            raise ValueError(f"unknown sObject type {name!r}")
        return found

    def _sobject_or_404(self, name: str) -> SObjectDef:
        try:
            return self._sobject(name)
        except ValueError:
            raise _not_found() from None

    def _field_or_error(self, sobj: SObjectDef, name: str) -> FieldDef:
        definition = sobj.field(name)
        if definition is None:
            raise api_error("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobj.name}")
        return definition

    def _new_id(self, type_name: str) -> str:
        self._id_seq += 1
        scrambled = (self._id_seq * 2654435761) % 62**7 + 62**7
        digits = ""
        while scrambled:
            scrambled, rest = divmod(scrambled, 62)
            digits = _BASE62[rest] + digits
        return to_18(f"{self.schema[type_name].prefix}8d{digits.rjust(10, '0')}")

    def _create(
        self,
        sobj: SObjectDef,
        raw: dict[str, Any],
        version: str,
        *,
        duplicates: bool,
        created: datetime | None = None,
        seeding: bool = False,
    ) -> str:
        values = self._coerce(sobj, raw, read_only_ok=seeding)
        self._check_required(sobj, values)
        self._check_references(sobj, values)
        if duplicates:
            self._check_duplicates(sobj, values, version)
        record_id = self._new_id(sobj.name)
        self._store(sobj, record_id, values, created)
        return record_id

    def _store(self, sobj: SObjectDef, record_id: str, values: dict[str, Any], created: datetime | None) -> None:
        stamp = _utc(created) if created else datetime.now(UTC)
        record: dict[str, Any] = {d.name: None for d in sobj.fields.values()}
        record.update(self._defaults(sobj))
        record.update(values)
        record.update({"Id": record_id, "IsDeleted": False, "CreatedDate": stamp, "LastModifiedDate": stamp})
        self._derive(sobj, record)
        self._data[sobj.name][record_id] = record

    def _defaults(self, sobj: SObjectDef) -> dict[str, Any]:
        defaults: dict[str, Any] = {d.name: False for d in sobj.fields.values() if d.kind == "boolean"}
        if sobj.field("OwnerId"):
            defaults["OwnerId"] = self.user_id
        if sobj.name == "Order":
            self._order_seq += 1
            defaults["OrderNumber"] = f"{self._order_seq:08d}"
        return defaults

    def _derive(self, sobj: SObjectDef, record: dict[str, Any]) -> None:
        if sobj.name in ("Contact", "User"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None

    def _update(self, sobj: SObjectDef, raw_id: str, raw: dict[str, Any]) -> None:
        record_id = canonical_id(raw_id)
        record = self._data[sobj.name].get(record_id or "")
        if record is None:
            raise _not_found()
        values = self._coerce(sobj, raw)
        self._check_required(sobj, {**record, **values})
        self._check_references(sobj, values)
        record.update(values)
        record["LastModifiedDate"] = datetime.now(UTC)
        self._derive(sobj, record)

    def _coerce(self, sobj: SObjectDef, raw: dict[str, Any], *, read_only_ok: bool = False) -> dict[str, Any]:
        values: dict[str, Any] = {}
        read_only: list[str] = []
        for name, value in raw.items():
            if name == "attributes":
                continue
            definition = self._field_or_error(sobj, name)
            if not definition.writable and not (read_only_ok and definition.name not in _SYSTEM_FIELDS):
                read_only.append(definition.name)
                continue
            values[definition.name] = _coerce_value(sobj, definition, value)
        if read_only:
            raise api_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of this "
                "field and verify that it is read/write for your profile or permission set.",
                fields=read_only,
            )
        return values

    def _check_required(self, sobj: SObjectDef, values: dict[str, Any]) -> None:
        missing = [d.name for d in sobj.fields.values() if d.required and values.get(d.name) in (None, "")]
        if missing:
            raise api_error(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", fields=missing
            )

    def _check_references(self, sobj: SObjectDef, values: dict[str, Any]) -> None:
        for name, value in values.items():
            definition = sobj.fields[name.lower()]
            if definition.kind != "reference" or value is None or definition.target is None:
                continue
            if not value.startswith(self.schema[definition.target].prefix):
                raise api_error(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{definition.target} ID: id value of incorrect type: {value}",
                    fields=[definition.name],
                )
            if value not in self._data[definition.target]:
                raise api_error(
                    "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", fields=[definition.name]
                )

    def _check_duplicates(self, sobj: SObjectDef, values: dict[str, Any], version: str) -> None:
        for rule in (r for r in self._duplicate_rules if r.sobject == sobj.name):
            wanted = _match_key(values.get(rule.field))
            if wanted is None:
                continue
            matches = [rid for rid, rec in self._data[sobj.name].items() if _match_key(rec.get(rule.field)) == wanted]
            if matches:
                raise self._duplicate_error(rule, matches, version)

    def _duplicate_error(self, rule: DuplicateRule, matches: list[str], version: str) -> SalesforceApiError:
        match_records = [
            {
                "additionalInformation": [],
                "fieldDiffs": [],
                "matchConfidence": 100.0,
                "record": {"attributes": _attributes(rule.sobject, rid, version), "Id": rid},
            }
            for rid in matches
        ]
        result = {
            "allowSave": False,
            "duplicateRule": rule.name,
            "duplicateRuleEntityType": rule.sobject,
            "errorMessage": DUPLICATE_MESSAGE,
            "matchResults": [
                {
                    "entityType": rule.sobject,
                    "errors": [],
                    "matchEngine": "ExactMatchEngine",
                    "matchRecords": match_records,
                    "rule": rule.matching_rule,
                    "size": len(match_records),
                    "success": True,
                }
            ],
        }
        item = {self.duplicate_result_key: result, "errorCode": "DUPLICATES_DETECTED", "fields": []}
        item["message"] = "Use one of these records?"
        return SalesforceApiError(400, [item])

    def _render_record(self, sobj: SObjectDef, record: dict[str, Any]) -> dict[str, Any]:
        return {d.name: render_value(record.get(d.name)) for d in sobj.fields.values()}

    def _snapshot(self) -> Store:
        return copy.deepcopy(self._data)

    def _restore(self, snapshot: Store) -> None:
        self._data = snapshot

    # --- query ---------------------------------------------------------------------------------------------
    def _query(self, soql: str, version: str) -> dict[str, Any]:
        if not soql.strip():
            raise api_error("MALFORMED_QUERY", "SOQL statement cannot be empty")
        query = SoqlParser(soql, self.schema).parse()
        rows = [rec for rec in self._data[query.sobject.name].values() if self._matches(rec, query.where)]
        for key in reversed(query.order):
            rows = self._sorted(rows, key)
        rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        if query.select is None:
            return {"totalSize": len(rows), "done": True, "records": []}
        records = [self._render_row(query.sobject, rec, query.select, version) for rec in rows]
        return {"totalSize": len(records), "done": True, "records": records}

    def _value(self, record: dict[str, Any], path: FieldPath) -> Any:
        current: dict[str, Any] | None = record
        for hop in path.hops:
            parent_id = current.get(hop.name) if current else None
            current = self._data[hop.target or ""].get(parent_id) if parent_id else None
        return None if current is None else current.get(path.leaf.name)

    def _matches(self, record: dict[str, Any], condition: Condition | None) -> bool:
        if condition is None:
            return True
        if isinstance(condition, BoolOp):
            results = (self._matches(record, item) for item in condition.items)
            return all(results) if condition.op == "AND" else any(results)
        if isinstance(condition, Not):
            return not self._matches(record, condition.inner)
        kind = condition.path.leaf.kind
        actual = _comparable(self._value(record, condition.path), kind)
        if isinstance(condition, Like):
            return actual is not None and condition.pattern.fullmatch(str(actual)) is not None
        if isinstance(condition, InList):
            found = actual in {_comparable(v, kind) for v in condition.values}
            return found != condition.negated
        return _compare(actual, condition.op, _comparable(condition.value, kind))

    def _sorted(self, rows: list[dict[str, Any]], key: OrderKey) -> list[dict[str, Any]]:
        kind = key.path.leaf.kind
        present = [r for r in rows if self._value(r, key.path) is not None]
        missing = [r for r in rows if self._value(r, key.path) is None]
        present.sort(key=lambda r: _comparable(self._value(r, key.path), kind), reverse=key.descending)
        return missing + present if key.nulls_first else present + missing

    def _render_row(
        self, sobj: SObjectDef, record: dict[str, Any], select: list[FieldPath], version: str
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"attributes": _attributes(sobj.name, record["Id"], version)}
        for path in select:
            self._place(row, record, path, version)
        return row

    def _place(self, row: dict[str, Any], record: dict[str, Any], path: FieldPath, version: str) -> None:
        target, current = row, record
        for hop in path.hops:
            parent_id = current.get(hop.name)
            parent = self._data[hop.target or ""].get(parent_id) if parent_id else None
            name = hop.relationship or hop.name
            if parent is None:
                target[name] = None
                return
            if not isinstance(target.get(name), dict):
                target[name] = {"attributes": _attributes(hop.target or "", parent["Id"], version)}
            target, current = target[name], parent
        target[path.leaf.name] = render_value(current.get(path.leaf.name))

    # --- composite -----------------------------------------------------------------------------------------
    def _composite(self, version: str, body: Any) -> Reply:
        subrequests, all_or_none = _composite_input(body)
        snapshot = self._snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        bodies: dict[str, Any] = {}
        for index, sub in enumerate(subrequests):
            reply = self._run_subrequest(sub, bodies)
            results.append(_composite_result(sub["referenceId"], reply))
            if reply.status < 300:
                bodies[sub["referenceId"]] = reply.body
            elif snapshot is not None:
                self._restore(snapshot)
                return Reply(200, {"compositeResponse": _halted(results, subrequests[index + 1 :])})
        return Reply(200, {"compositeResponse": results})

    def _run_subrequest(self, sub: dict[str, Any], bodies: dict[str, Any]) -> Reply:
        try:
            return self._subrequest(sub, bodies)
        except SalesforceApiError as exc:
            return Reply(exc.status, exc.body)

    def _subrequest(self, sub: dict[str, Any], bodies: dict[str, Any]) -> Reply:
        try:
            url = _substitute(sub["url"], bodies)
            body = _substitute(sub.get("body"), bodies)
        except _UnresolvedReferenceError as exc:
            return Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": str(exc)}])
        parsed = urlsplit(url)
        match = _DATA_PATH_RE.fullmatch(parsed.path)
        if match is None:
            raise _not_found()
        args = parse_qs(parsed.query, keep_blank_values=True)
        return self._route(sub["method"], match.group(1), match.group(2) or "", args, body, top_level=False)

    # --- sObject tree --------------------------------------------------------------------------------------
    def _tree(self, sobj: SObjectDef, body: Any, version: str) -> Reply:
        try:
            nodes = list(self._tree_nodes(sobj, body))
        except SalesforceApiError as exc:
            return Reply(400, {"hasErrors": True, "results": [_tree_failure(None, exc)]})
        snapshot = self._snapshot()
        created: dict[str, str] = {}
        results: list[dict[str, Any]] = []
        for node in nodes:
            values = dict(node.fields)
            if node.parent_ref is not None and node.parent_field is not None:
                values[node.parent_field.name] = created[node.parent_ref]
            try:
                created[node.reference_id] = self._create(node.sobject, values, version, duplicates=True)
            except SalesforceApiError as exc:
                self._restore(snapshot)
                return Reply(400, {"hasErrors": True, "results": [_tree_failure(node.reference_id, exc)]})
            results.append({"referenceId": node.reference_id, "id": created[node.reference_id]})
        return Reply(201, {"hasErrors": False, "results": results})

    def _tree_nodes(self, root: SObjectDef, body: Any) -> Iterator[TreeNode]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise api_error("INVALID_INPUT", "The request body must contain a 'records' collection")
        level = [TreeNode.parse(root, raw, None, None) for raw in body["records"]]
        seen: set[str] = set()
        count = 0
        while level:
            next_level: list[TreeNode] = []
            for node in level:
                count += 1
                if node.reference_id in seen:
                    raise api_error(
                        "INVALID_INPUT", f"Duplicate ReferenceId provided in the request: {node.reference_id}"
                    )
                seen.add(node.reference_id)
                yield node
                next_level.extend(node.children_of(self.schema))
            level = next_level
        if count > MAX_TREE_RECORDS:
            raise api_error("INVALID_INPUT", f"Too many records in the request: limit is {MAX_TREE_RECORDS}")


@dataclass
class TreeNode:
    sobject: SObjectDef
    reference_id: str
    fields: dict[str, Any]
    raw_children: list[tuple[str, FieldDef, list[Any]]]
    parent_ref: str | None
    parent_field: FieldDef | None

    @classmethod
    def parse(cls, sobj: SObjectDef, raw: Any, parent_ref: str | None, parent_field: FieldDef | None) -> TreeNode:
        attributes = raw.get("attributes") if isinstance(raw, dict) else None
        if not isinstance(attributes, dict) or not isinstance(attributes.get("referenceId"), str):
            raise api_error("INVALID_INPUT", "Every record needs attributes with a type and a referenceId")
        if str(attributes.get("type", "")).lower() != sobj.name.lower():
            raise api_error("INVALID_INPUT", f"The record type must be {sobj.name}, not {attributes.get('type')}")
        fields: dict[str, Any] = {}
        children: list[tuple[str, FieldDef, list[Any]]] = []
        for key, value in raw.items():
            child = sobj.children.get(key.lower())
            if child is not None and isinstance(value, dict):
                children.append((child[0], child[1], list(value.get("records") or [])))
            elif key != "attributes":
                fields[key] = value
        return cls(sobj, attributes["referenceId"], fields, children, parent_ref, parent_field)

    def children_of(self, schema: dict[str, SObjectDef]) -> list[TreeNode]:
        return [
            TreeNode.parse(schema[child_type], raw, self.reference_id, parent_field)
            for child_type, parent_field, records in self.raw_children
            for raw in records
        ]


# --- helpers ---------------------------------------------------------------------------------------------------


def _load_public_key(pem: str) -> Any:
    data = pem.encode()
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status, {"Cache-Control": "no-store"})


def _to_response(reply: Reply) -> Response:
    return json_response(reply.body, reply.status, reply.headers)


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise api_error(
            "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}", 405
        )


def _json_body(data: bytes) -> Any:
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise _json_parser_error(f"Unexpected character in request body: {exc}") from None


def _object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _json_parser_error("Cannot deserialize instance of sObject from the request body")
    return body


def _coerce_value(sobj: SObjectDef, definition: FieldDef, value: Any) -> Any:
    if value is None or value == "":
        return None
    kind = definition.kind
    if kind in _TEXT_KINDS:
        return _coerce_text(definition, value)
    if kind in _ID_KINDS:
        return _coerce_reference(sobj, definition, value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "boolean" and str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    try:
        if kind == "double" and not isinstance(value, bool):
            return float(value)
        if kind == "date" and isinstance(value, str):
            return date.fromisoformat(value)
        if kind == "datetime" and isinstance(value, str):
            return _parse_datetime(value)
    except ValueError:
        pass
    raise _json_parser_error(f"Cannot deserialize instance of {kind} from VALUE_STRING value {value}")


def _coerce_text(definition: FieldDef, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _json_parser_error(f"Cannot deserialize instance of string from {type(value).__name__} value")
    text = str(value)
    if definition.kind == "email" and not _EMAIL_RE.fullmatch(text):
        raise api_error(
            "INVALID_EMAIL_ADDRESS", f"{definition.name}: invalid email address: {text}", fields=[definition.name]
        )
    return text


def _coerce_reference(sobj: SObjectDef, definition: FieldDef, value: Any) -> str:
    label = f"{definition.target or sobj.name} ID"
    normalised = canonical_id(value)
    if normalised is None:
        raise api_error("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", fields=[definition.name])
    return normalised


def _match_key(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


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


def _composite_input(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise _json_parser_error("The request body must contain a 'compositeRequest' collection")
    subrequests = body["compositeRequest"]
    if len(subrequests) > MAX_COMPOSITE_SUBREQUESTS:
        raise api_error("INVALID_INPUT", f"Maximum number of subrequests allowed is {MAX_COMPOSITE_SUBREQUESTS}")
    seen: set[str] = set()
    for sub in subrequests:
        _check_subrequest(sub, seen)
    return subrequests, bool(body.get("allOrNone", False))


def _check_subrequest(sub: Any, seen: set[str]) -> None:
    if not isinstance(sub, dict):
        raise _json_parser_error("Each compositeRequest item must be an object")
    for key in ("method", "url", "referenceId"):
        if not isinstance(sub.get(key), str) or not sub[key]:
            raise api_error("INVALID_INPUT", f"Required field '{key}' is missing in a subrequest")
    if sub["method"] not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        raise api_error("INVALID_INPUT", f"Invalid HTTP method: {sub['method']}")
    reference = sub["referenceId"]
    if not _REFERENCE_ID_RE.fullmatch(reference) or reference in seen:
        raise api_error("INVALID_INPUT", f"Invalid or duplicate referenceId: {reference}")
    seen.add(reference)


def _composite_result(reference_id: str, reply: Reply) -> dict[str, Any]:
    return {
        "body": reply.body,
        "httpHeaders": reply.headers,
        "httpStatusCode": reply.status,
        "referenceId": reference_id,
    }


def _halted(results: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    halted_body = [{"errorCode": "PROCESSING_HALTED", "message": HALTED_MESSAGE}]
    failed = results[-1]
    out = [_composite_result(r["referenceId"], Reply(400, halted_body)) for r in results[:-1]]
    out.append(failed)
    out.extend(_composite_result(sub["referenceId"], Reply(400, halted_body)) for sub in skipped)
    return out


def _substitute(value: Any, bodies: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _substitute(item, bodies) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, bodies) for item in value]
    if not isinstance(value, str):
        return value
    whole = _REFERENCE_RE.fullmatch(value)
    if whole is not None:
        return _resolve_reference(whole, bodies)
    return _REFERENCE_RE.sub(lambda m: str(_resolve_reference(m, bodies)), value)


def _resolve_reference(match: re.Match[str], bodies: dict[str, Any]) -> Any:
    reference, path = match.group(1), match.group(2)
    expression = f"{reference}{path}"
    if reference not in bodies:
        raise _UnresolvedReferenceError(f"Invalid reference specified. No value for {expression} found in {reference}.")
    current = bodies[reference]
    for name, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        current = _step(current, name, index)
        if current is None:
            raise _UnresolvedReferenceError(
                f"Invalid reference specified. No value for {expression} found in {reference}."
            )
    return current


def _step(current: Any, name: str, index: str) -> Any:
    if index:
        position = int(index)
        return current[position] if isinstance(current, list) and position < len(current) else None
    if not isinstance(current, dict):
        return None
    if name in current:
        return current[name]
    return next((v for k, v in current.items() if k.lower() == name.lower()), None)


def _tree_failure(reference_id: str | None, exc: SalesforceApiError) -> dict[str, Any]:
    items = exc.body if isinstance(exc.body, list) else [exc.body]
    errors = [
        {"statusCode": item.get("errorCode"), "message": item.get("message"), "fields": item.get("fields", [])}
        for item in items
        if isinstance(item, dict)
    ]
    return {"referenceId": reference_id, "errors": errors}
