"""Salesforce simulator over HTTPS: OAuth 2.0 token grants (client credentials, JWT bearer, web-server flow with
PKCE behind a login page, refresh token), identity URL and OpenID userinfo, REST query with a real SOQL subset,
sObject create/get/update/delete, Composite and sObject Tree (all-or-none), duplicate rules, per-user record
visibility (owner, manual shares, View All, controlled by parent), CPQ order fields and 18-character case-safe Ids,
field lengths and email address rules (with or without Email Address Internationalization, see `salesforce_fields`),
answering in Salesforce's documented wire formats and error bodies."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import operator
import re
import secrets
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.wrappers import Request, Response

from sandbox.core import SimServer, json_response
from sandbox.salesforce_fields import check_value, is_valid_email

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
DEFAULT_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "JPY")
DEFAULT_PRODUCT2_FIELDS = ("Zuora_Product_Rate_Plan_Id__c", "Zuora_Product_Rate_Plan_Charge_Id__c")
ORDER_STATUSES = ("Draft", "Activated")
CPQ_CHARGE_TYPES = ("One-Time", "Recurring", "Usage")
CPQ_BILLING_FREQUENCIES = ("Monthly", "Quarterly", "Semiannual", "Annual", "Invoice Plan")
CPQ_BILLING_TYPES = ("Advance", "Arrears")
AUTH_CODE_LIFETIME = 600.0
OAUTH_SCOPES = frozenset(
    {
        *("api", "id", "refresh_token", "offline_access", "openid", "profile", "email", "address", "phone"),
        *("web", "full", "chatter_api", "visualforce", "custom_permissions"),
    }
)
DEFAULT_WEB_SCOPE = "api id refresh_token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOGIN_FAILED_MESSAGE = (
    "Please check your username and password. If you still can't log in, contact your Salesforce administrator."
)

_CHECKSUM_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TEXT_KINDS = frozenset({"string", "email", "url", "phone", "picklist", "textarea"})
_ID_KINDS = frozenset({"id", "reference"})
_FIELD_KINDS = _TEXT_KINDS | {"boolean", "double", "date", "datetime"}
_SYSTEM_FIELDS = frozenset({"Id", "IsDeleted", "CreatedDate", "LastModifiedDate"})
_DATA_PATH_RE = re.compile(r"/services/data/v(\d+\.\d)(?:/(.*))?")
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REFERENCE_ID_RE = re.compile(r"[A-Za-z0-9_]+")
_IDENTITY_PATH_RE = re.compile(r"/id/([^/]+)/([^/]+)")
_PKCE_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


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


def _org_id(value: str) -> str:
    normalised = canonical_id(value)
    if normalised is None or not normalised.startswith("00D"):
        raise ValueError(f"org_id must be a 15/18-character 00D Id, got {value!r}")
    return normalised


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
    values: tuple[str, ...] | None = None
    default: Any = None


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


def _currency(currencies: tuple[str, ...], *, writable: bool = True) -> list[FieldDef]:
    """`CurrencyIsoCode` exists only in multi-currency orgs (a restricted picklist of the active currencies)."""
    if not currencies:
        return []
    return [FieldDef("CurrencyIsoCode", "picklist", values=currencies, default=currencies[0], writable=writable)]


def _type_fields(person_accounts: bool, currencies: tuple[str, ...] = ()) -> dict[str, tuple[str, list[FieldDef]]]:
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
                *_currency(currencies),
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
                *_currency(currencies),
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
                *_currency(currencies),
                # The product's default mapping fields (custom fields of the org under test), registered by default.
                *(FieldDef(name) for name in DEFAULT_PRODUCT2_FIELDS),
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
        "PricebookEntry": (
            "01u",
            [
                FieldDef("Pricebook2Id", "reference", "Pricebook2", "Pricebook2", "PricebookEntries", required=True),
                FieldDef("Product2Id", "reference", "Product2", "Product2", "PricebookEntries", required=True),
                FieldDef("UnitPrice", "double", required=True),
                FieldDef("IsActive", "boolean"),
                FieldDef("UseStandardPrice", "boolean"),
                FieldDef("Name", writable=False),
                FieldDef("ProductCode", writable=False),
                *_currency(currencies),
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
                FieldDef("Status", "picklist", required=True, values=ORDER_STATUSES, default="Draft"),
                FieldDef("Description", "textarea"),
                FieldDef("TotalAmount", "double", writable=False),
                FieldDef("SBQQ__Quote__c"),
                _owner(),
                *_currency(currencies),
            ],
        ),
        "OrderItem": (
            "802",
            [
                FieldDef("OrderId", "reference", "Order", "Order", "OrderItems", required=True),
                FieldDef("Product2Id", "reference", "Product2", "Product2"),
                FieldDef("PricebookEntryId", "reference", "PricebookEntry", "PricebookEntry"),
                FieldDef("Quantity", "double", required=True),
                FieldDef("UnitPrice", "double"),
                FieldDef("TotalPrice", "double", writable=False),
                FieldDef("ServiceDate", "date"),
                FieldDef("EndDate", "date"),
                FieldDef("Description", "textarea"),
                FieldDef("SBQQ__SubscriptionTerm__c", "double"),
                FieldDef("SBQQ__ChargeType__c", "picklist", values=CPQ_CHARGE_TYPES),
                FieldDef("SBQQ__BillingFrequency__c", "picklist", values=CPQ_BILLING_FREQUENCIES),
                FieldDef("SBQQ__BillingType__c", "picklist", values=CPQ_BILLING_TYPES),
                *_currency(currencies, writable=False),
            ],
        ),
    }


def build_schema(person_accounts: bool, currencies: tuple[str, ...] = ()) -> dict[str, SObjectDef]:
    """The org's objects; `currencies` non-empty means a multi-currency org (first one is the corporate currency)."""
    schema = {
        name: SObjectDef(name, prefix, {f.name.lower(): f for f in [*_system_fields(), *fields]})
        for name, (prefix, fields) in _type_fields(person_accounts, currencies).items()
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

# Record access levels, and how each owned object shares its records (Salesforce's organization-wide defaults).
_NO_ACCESS, _READ, _EDIT = 0, 1, 2
SHARE_ACCESS = {"Read": _READ, "Edit": _EDIT}
SHARING_MODELS = ("Private", "PublicRead", "PublicReadWrite", "ControlledByParent")
DEFAULT_SHARING = {
    "Account": "Private",
    "Contact": "ControlledByParent",
    "Order": "Private",
    "OrderItem": "ControlledByParent",
}
_PARENTS = {"Contact": ("AccountId", "Account"), "Order": ("AccountId", "Account"), "OrderItem": ("OrderId", "Order")}


@dataclass(frozen=True)
class SimUser:
    """A Salesforce user: signs in at the login page (when it has a password) and owns what its tokens may see.

    view_all: "View All Data" (reads every record of its org); modify_all: "Modify All Data" (also edits them).
    """

    user_id: str
    username: str
    password: str | None = field(repr=False)
    name: str
    email: str
    org_id: str
    view_all: bool = False
    modify_all: bool = False

    @property
    def first_name(self) -> str | None:
        return self.name.rpartition(" ")[0] or None

    @property
    def last_name(self) -> str:
        return self.name.rpartition(" ")[2]

    @property
    def nickname(self) -> str:
        return self.username.partition("@")[0]


@dataclass(frozen=True)
class _Session:
    user_id: str
    issued: float
    refresh_token: str | None = None


@dataclass(frozen=True)
class _AuthCode:
    user_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    scope: str
    expires: float


@dataclass(frozen=True)
class _RefreshGrant:
    user_id: str
    scope: str


class SalesforceSim(SimServer):
    """Salesforce org over HTTPS on loopback. Tests drive it with real simple-salesforce / requests calls and seed
    or inspect data through `insert`, `records`, `get`, `query`, `update`.

    Users: the integration user (`user_id`, the identity of client-credentials and JWT-bearer tokens) sees and edits
    everything. `add_user` creates people who sign in through the browser flow; their tokens see only what Salesforce
    sharing would let them see:
      - Account and Order: Private by default (owner, manual `share`, View All / Modify All users);
      - Contact: controlled by its Account (owner-based when it has none); OrderItem: always controlled by its Order;
      - Product2, Pricebook2, PricebookEntry, User: readable by every user of the org (they have no owner);
      - users of another org see nothing of this one. Invisible rows don't appear in queries, GET/PATCH/DELETE
        answer 404 NOT_FOUND, and a parent the user can't see reads as null in relationship fields.
      `set_sharing` changes an object's organization-wide default.

    Browser flow (OAuth 2.0 web server + PKCE S256): GET `/services/oauth2/authorize` answers a login page, a form
    POSTing back to the same URL with the request in hidden fields and `#username`, `#password`, `#login`; the right
    credentials redirect (302) to `redirect_uri?code=...&state=...`. The code is single-use, lives `code_lifetime`
    seconds (10 minutes) and is bound to client_id, redirect_uri and code_challenge. Unknown client_id or a
    redirect_uri that isn't allowed show an error page (400, never redirected); other errors go back to the callback.
    Allowed callbacks: exactly one of `allowed_redirect_uris`, or when that list is empty any http(s) URL on
    127.0.0.1, localhost or ::1. Identity: GET `/id/<org>/<user>` and `/services/oauth2/userinfo` with that user's
    token. A scope with `refresh_token` adds a refresh token (grant_type=refresh_token); `/services/oauth2/revoke`.

    Field values: every write (create, update, Composite, Tree, and `insert`/`update` here) refuses text longer than
    the field's documented length (`STRING_TOO_LONG`) and email addresses Salesforce refuses (`INVALID_EMAIL_ADDRESS`);
    `email_internationalization` is the org's Email Address Internationalization setting (non-ASCII email addresses),
    off by default here although orgs created in Summer '20 or later have it on (Help "Set Up Email Address
    Internationalization (EAI)"). Rules and their sources: `salesforce_fields`.
    """

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
        multi_currency: bool = False,
        currencies: Iterable[str] = DEFAULT_CURRENCIES,
        redirect_uris: Iterable[str] = (),
        api_latency: float = 0.0,
        session_timeout: float | None = None,
        duplicate_result_key: str = "duplicateResut",
        email_internationalization: bool = False,
    ) -> None:
        super().__init__(ssl_context, latency=api_latency)
        self.org_id = _org_id(org_id)
        self.client_id = client_id
        self.client_secret = client_secret
        self.jwt_username = jwt_username
        self.jwt_audience = jwt_audience
        self.person_accounts = person_accounts
        self.multi_currency = multi_currency
        self.currencies: tuple[str, ...] = tuple(currencies) if multi_currency else ()
        if multi_currency and not self.currencies:
            raise ValueError("a multi-currency org needs at least one currency (the first is the corporate one)")
        self.session_timeout = session_timeout
        self.duplicate_result_key = duplicate_result_key
        self.email_internationalization = email_internationalization
        # Callback URLs of the connected app; empty: any http(s) URL on a loopback host (127.0.0.1, localhost, ::1).
        self.allowed_redirect_uris: list[str] = list(redirect_uris)
        self.require_pkce = True
        self.require_secret_for_web_server_flow = False
        self.code_lifetime = AUTH_CODE_LIFETIME
        self._jwt_key = _load_public_key(jwt_public_key_pem) if jwt_public_key_pem else None
        self.schema = build_schema(person_accounts, self.currencies)
        self._sharing = dict(DEFAULT_SHARING)
        self._tokens: dict[str, _Session] = {}
        self._refresh_tokens: dict[str, _RefreshGrant] = {}
        self._codes: dict[str, _AuthCode] = {}
        # Every access token, refresh token and authorization code ever issued (survives reset and expiry): log audits.
        self.issued_credentials: list[str] = []
        self._spent_codes: dict[str, list[str]] = {}
        self._shares: dict[tuple[str, str], int] = {}
        self._users: dict[str, SimUser] = {}
        self._id_seq = 0
        self._order_seq = 100
        self._api_calls = 0
        self._data: Store = {}
        self._duplicate_rules: list[DuplicateRule] = []
        self.user_id = self._new_id("User")
        self._seed()

    # --- Python API for tests ------------------------------------------------------------------------------
    def reset_state(self) -> None:
        """Drop all records, duplicate rules, shares, sharing settings, added users (with their tokens) and
        authorization codes; keep credentials, custom fields, the integration user and its tokens."""
        with self.lock:
            self._duplicate_rules.clear()
            self._sharing = dict(DEFAULT_SHARING)
            self._codes.clear()
            self._spent_codes.clear()
            self._seed()
            self._tokens = {t: s for t, s in self._tokens.items() if s.user_id in self._users}
            self._refresh_tokens = {t: g for t, g in self._refresh_tokens.items() if g.user_id in self._users}

    def add_field(self, sobject: str, name: str, kind: str = "string", *, values: Iterable[str] | None = None) -> None:
        """Register a custom field (e.g. `Email_Domain__c`); kind: string/email/url/picklist/textarea/phone/boolean/
        double/date/datetime. `values` makes a picklist restricted to them."""
        if kind not in _FIELD_KINDS:
            raise ValueError(f"unsupported field kind {kind!r}")
        with self.lock:
            self._sobject(sobject).add(FieldDef(name, kind, values=None if values is None else tuple(values)))

    def add_user(
        self,
        username: str,
        password: str,
        *,
        name: str | None = None,
        email: str | None = None,
        org_id: str | None = None,
        view_all: bool = False,
        modify_all: bool = False,
    ) -> str:
        """A person who can sign in at the login page; returns their 18-character `005` Id.

        A user of another org (`org_id`, any valid `00D` Id) signs in here too, but their tokens' identity names that
        org and they see no record of this one. Users of this org also appear as `User` records.
        """
        with self.lock:
            if not username.strip() or any(u.username.lower() == username.lower() for u in self._users.values()):
                raise ValueError(f"username must be non-empty and unique: {username!r}")
            address = email or username
            if not is_valid_email(address, internationalized=self.email_internationalization):
                raise ValueError(f"not an email address: {address!r}")
            user = SimUser(
                self._new_id("User"),
                username,
                password,
                name or username.partition("@")[0],
                address,
                self.org_id if org_id is None else _org_id(org_id),
                view_all=view_all,
                modify_all=modify_all,
            )
            self._add_user(user)
            return user.user_id

    @property
    def users(self) -> dict[str, SimUser]:
        """Every user by Id (the integration user included)."""
        with self.lock:
            return dict(self._users)

    @property
    def integration_user(self) -> SimUser:
        with self.lock:
            return self._users[self.user_id]

    def share(self, record_id: str, user_id: str, access: str = "Read") -> None:
        """A manual share: `user_id` may read (access="Read") or also edit (access="Edit") the record.

        Records whose access is controlled by their parent (OrderItem; Contact/Order when so configured) can't be
        shared; share the parent instead."""
        if access not in SHARE_ACCESS:
            raise ValueError(f"access must be one of {sorted(SHARE_ACCESS)}, got {access!r}")
        with self.lock:
            rid, uid = canonical_id(record_id), canonical_id(user_id)
            found = next(((name, rows) for name, rows in self._data.items() if rid in rows), None)
            if rid is None or found is None:
                raise ValueError(f"no record {record_id!r}")
            if uid is None or uid not in self._users:
                raise ValueError(f"no user {user_id!r}")
            model = self._sharing.get(found[0])
            if model is None or model == "ControlledByParent":
                raise ValueError(f"{found[0]} records can't be shared (their access isn't owner-based)")
            self._shares[(rid, uid)] = SHARE_ACCESS[access]

    def set_sharing(self, sobject: str, model: str) -> None:
        """Organization-wide default of an owned object: Private, PublicRead, PublicReadWrite or ControlledByParent
        (Contact and Order: by their Account; OrderItem is always controlled by its Order)."""
        with self.lock:
            sobj = self._sobject(sobject)
            allowed = {
                "Account": ("Private", "PublicRead", "PublicReadWrite"),
                "Contact": SHARING_MODELS,
                "Order": SHARING_MODELS,
                "OrderItem": ("ControlledByParent",),
            }.get(sobj.name, ())
            if model not in allowed:
                raise ValueError(f"can't set {sobj.name} sharing to {model!r}")
            self._sharing[sobj.name] = model

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

    def insert(
        self,
        sobject: str,
        fields: dict[str, Any],
        created_date: datetime | None = None,
        owner_id: str | None = None,
    ) -> str:
        """Seed a record (validated like the API, duplicate rules not applied); returns its 18-character Id.

        The owner is `owner_id`, else `OwnerId` in `fields`, else the integration user. Read-only fields such as
        `OrderNumber` may be seeded; `CreatedDate` may be given in `fields` or as `created_date`."""
        fields = dict(fields)
        stamp = fields.pop("CreatedDate", None) if created_date is None else created_date
        created = _parse_datetime(stamp) if isinstance(stamp, str) else stamp
        if owner_id is not None:
            fields["OwnerId"] = owner_id
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

    def query(self, soql: str, version: str = DEFAULT_VERSION, *, as_user: str | None = None) -> dict[str, Any]:
        """Run SOQL as the REST query resource would (as `as_user` sees the org, default: everything); raises
        SalesforceApiError with Salesforce's error body."""
        with self.lock:
            return self._query(soql, version, None if as_user is None else self._user_or_error(as_user))

    def issue_token(self, user_id: str | None = None) -> str:
        """A valid access token (of the integration user, or of `user_id`) without an HTTP round trip."""
        with self.lock:
            user = self._users[self.user_id] if user_id is None else self._user_or_error(user_id)
            return self._new_access_token(user)

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next API call answers 401 INVALID_SESSION_ID); refresh tokens
        stay valid, as when Salesforce sessions time out."""
        with self.lock:
            self._tokens.clear()

    @property
    def identity_url(self) -> str:
        return self.identity_url_of(self.user_id)

    def identity_url_of(self, user_id: str) -> str:
        with self.lock:
            user = self._user_or_error(user_id)
        return f"{self.url}/id/{user.org_id}/{user.user_id}"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/services/oauth2/authorize"

    # --- HTTP ----------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        endpoint = {
            "/services/oauth2/token": self._token_endpoint,
            "/services/oauth2/authorize": self._authorize_endpoint,
            "/services/oauth2/userinfo": self._userinfo_endpoint,
            "/services/oauth2/revoke": self._revoke_endpoint,
        }.get(path)
        if endpoint is not None:
            return endpoint(request)
        identity = _IDENTITY_PATH_RE.fullmatch(path)
        if identity is not None:
            return self._identity_endpoint(request, identity.group(1), identity.group(2))
        match = _DATA_PATH_RE.fullmatch(request.path)
        if match is None:
            return _to_response(Reply(404, _not_found().body))
        with self.lock:
            user = self._bearer_user(request.headers.get("Authorization", ""))
            if user is None:
                return _to_response(Reply(401, INVALID_SESSION_BODY, {"WWW-Authenticate": "Token"}))
            self._api_calls += 1
            reply = self._safely(lambda: self._data_request(request, match.group(1), match.group(2) or "", user))
            reply.headers["Sforce-Limit-Info"] = f"api-usage={self._api_calls}/{API_USAGE_LIMIT}"
        return _to_response(reply)

    def _safely(self, action: Callable[[], Reply]) -> Reply:
        try:
            return action()
        except SalesforceApiError as exc:
            return Reply(exc.status, exc.body)

    def _bearer_user(self, header: str) -> SimUser | None:
        scheme, _, token = header.partition(" ")
        return self._token_user(token.strip()) if scheme.lower() in ("bearer", "oauth") else None

    def _token_user(self, token: str) -> SimUser | None:
        session = self._tokens.get(token)
        if session is None:
            return None
        if self.session_timeout is not None and time.monotonic() - session.issued >= self.session_timeout:
            return None
        return self._users.get(session.user_id)

    def _data_request(self, request: Request, version: str, rest: str, user: SimUser) -> Reply:
        body = _json_body(request.get_data(cache=True)) if request.method in ("POST", "PATCH", "PUT") else None
        args = {key: request.args.getlist(key) for key in request.args}
        return self._route(request.method, version, rest, args, body, top_level=True, user=user)

    def _route(
        self,
        method: str,
        version: str,
        rest: str,
        args: dict[str, list[str]],
        body: Any,
        *,
        top_level: bool,
        user: SimUser | None,
    ) -> Reply:
        parts = [part for part in rest.split("/") if part]
        if parts in (["query"], ["queryAll"]):
            _allow(method, "GET")
            soql = (args.get("q") or [""])[0]
            return Reply(200, self._query(soql, version, user))
        if len(parts) == 2 and parts[0] == "sobjects":
            _allow(method, "POST")
            return self._create_reply(self._sobject_or_404(parts[1]), body, version, user)
        if len(parts) == 3 and parts[0] == "sobjects":
            return self._record_reply(method, self._sobject_or_404(parts[1]), parts[2], args, body, version, user)
        if top_level and parts == ["composite"]:
            _allow(method, "POST")
            return self._composite(version, body, user)
        if top_level and len(parts) == 3 and parts[:2] == ["composite", "tree"]:
            _allow(method, "POST")
            return self._tree(self._sobject_or_404(parts[2]), body, version, user)
        raise _not_found()

    def _create_reply(self, sobj: SObjectDef, body: Any, version: str, user: SimUser | None) -> Reply:
        record_id = self._create(sobj, _object_body(body), version, duplicates=True, user=user)
        location = f"/services/data/v{version}/sobjects/{sobj.name}/{record_id}"
        return Reply(201, {"id": record_id, "success": True, "errors": []}, {"Location": location})

    def _record_reply(
        self,
        method: str,
        sobj: SObjectDef,
        raw_id: str,
        args: dict[str, list[str]],
        body: Any,
        version: str,
        user: SimUser | None,
    ) -> Reply:
        _allow(method, "GET", "PATCH", "DELETE")
        record_id = canonical_id(raw_id)
        record = self._data[sobj.name].get(record_id or "")
        if record is None or record_id is None or self._access(sobj.name, record, user) < _READ:
            raise _not_found()
        if method == "PATCH":
            self._update(sobj, record_id, _object_body(body), user)
            return Reply(204)
        if method == "DELETE":
            self._require_edit(sobj, record, user)
            self._delete(sobj, record_id)
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

    # --- OAuth: token endpoint -----------------------------------------------------------------------------
    def _token_endpoint(self, request: Request) -> Response:
        if request.method != "POST":
            return _oauth_error("invalid_request", "must use HTTP POST", 405)
        form = request.form
        grant = form.get("grant_type", "")
        with self.lock:
            if grant == "authorization_code":
                return self._code_grant(request)
            if grant == "refresh_token":
                return self._refresh_grant(request)
            if grant == "client_credentials":
                failure = self._check_client_credentials(request)
            elif grant == JWT_GRANT:
                failure = self._check_jwt(form.get("assertion", ""))
            else:
                failure = ("unsupported_grant_type", "grant type not supported")
            if failure is not None:
                return _oauth_error(*failure)
            return _token_response(self._token_body(self._users[self.user_id], "api"))

    def _client_from(self, request: Request) -> tuple[str | None, str | None]:
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username, auth.password
        return client_id, secret

    def _check_client_credentials(self, request: Request) -> tuple[str, str] | None:
        client_id, secret = self._client_from(request)
        if client_id != self.client_id:
            return "invalid_client_id", "client identifier invalid"
        if not secret or not hmac.compare_digest(secret, self.client_secret):
            return "invalid_client", "invalid client credentials"
        return None

    def _check_web_client(self, request: Request) -> tuple[str, str] | None:
        """Web-server and refresh grants: the secret is optional (PKCE public client) but checked when sent."""
        client_id, secret = self._client_from(request)
        if client_id != self.client_id:
            return "invalid_client_id", "client identifier invalid"
        if secret or self.require_secret_for_web_server_flow:
            return self._check_client_credentials(request)
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

    def _code_grant(self, request: Request) -> Response:
        failure = self._check_web_client(request)
        if failure is not None:
            return _oauth_error(*failure)
        form = request.form
        code = form.get("code", "")
        grant = self._codes.pop(code, None)
        if grant is None:
            # A code presented twice: refuse, and revoke what the first exchange issued (RFC 6749 section 4.1.2).
            for token in self._spent_codes.get(code, []):
                self._revoke(token)
            return _oauth_error("invalid_grant", "invalid authorization code")
        self._spent_codes[code] = []
        user = self._users.get(grant.user_id)
        if user is None or grant.client_id != self.client_id:
            return _oauth_error("invalid_grant", "invalid authorization code")
        if time.monotonic() >= grant.expires:
            return _oauth_error("invalid_grant", "expired authorization code")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri mismatch")
        if not _pkce_ok(grant.code_challenge, form.get("code_verifier")):
            return _oauth_error("invalid_grant", "invalid code verifier")
        wants_refresh = bool({"refresh_token", "offline_access"} & set(grant.scope.split()))
        refresh = self._new_refresh_token(user, grant.scope) if wants_refresh else None
        body = self._token_body(user, grant.scope, refresh)
        if refresh is not None:
            body = {"access_token": body["access_token"], "refresh_token": refresh} | body
        self._spent_codes[code] = [token for token in (body["access_token"], refresh) if token]
        return _token_response(body)

    def _refresh_grant(self, request: Request) -> Response:
        failure = self._check_web_client(request)
        if failure is not None:
            return _oauth_error(*failure)
        token = request.form.get("refresh_token", "")
        grant = self._refresh_tokens.get(token)
        user = None if grant is None else self._users.get(grant.user_id)
        if grant is None or user is None:
            return _oauth_error("invalid_grant", "expired access/refresh token")
        return _token_response(self._token_body(user, grant.scope, token))

    def _token_body(self, user: SimUser, scope: str, refresh_token: str | None = None) -> dict[str, str]:
        issued_at = str(int(time.time() * 1000))
        identity = f"{self.url}/id/{user.org_id}/{user.user_id}"
        digest = hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        return {
            "access_token": self._new_access_token(user, refresh_token),
            "signature": base64.b64encode(digest).decode(),
            "scope": scope,
            "instance_url": self.url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    def _new_access_token(self, user: SimUser, refresh_token: str | None = None) -> str:
        token = f"{user.org_id[:15]}!{secrets.token_urlsafe(48)}"
        self.issued_credentials.append(token)
        self._tokens[token] = _Session(user.user_id, time.monotonic(), refresh_token)
        return token

    def _new_refresh_token(self, user: SimUser, scope: str) -> str:
        token = f"5Aep{secrets.token_urlsafe(60)}"
        self.issued_credentials.append(token)
        self._refresh_tokens[token] = _RefreshGrant(user.user_id, scope)
        return token

    def _revoke(self, token: str) -> bool:
        """Revoke an access token, or a refresh token and every access token it minted."""
        if self._refresh_tokens.pop(token, None) is not None:
            self._tokens = {t: s for t, s in self._tokens.items() if s.refresh_token != token}
            return True
        return self._tokens.pop(token, None) is not None

    def _revoke_endpoint(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _oauth_error("invalid_request", "must use HTTP POST", 405)
        with self.lock:
            if not self._revoke(request.values.get("token", "")):
                return _oauth_error("unsupported_token_type", "this token type is not supported")
        return Response("", 200, headers={"Cache-Control": "no-store"})

    # --- OAuth: authorization endpoint and login page ------------------------------------------------------
    def _authorize_endpoint(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _html_response(_error_page("invalid_request", "must use HTTP GET or POST"), 405)
        params = request.args if request.method == "GET" else request.form
        with self.lock:
            problem = self._check_authorize_request(params)
            if problem is not None:
                return problem
            if request.method == "GET" or "username" not in params:
                return _html_response(_login_page(params, params.get("login_hint", ""), None))
            username = params.get("username", "")
            user = self._login(username, params.get("password", ""))
            if user is None:
                return _html_response(_login_page(params, username, LOGIN_FAILED_MESSAGE))
            code = f"aPrx{secrets.token_urlsafe(60)}=="
            self.issued_credentials.append(code)
            self._codes[code] = _AuthCode(
                user.user_id,
                self.client_id,
                params["redirect_uri"],
                params.get("code_challenge") or None,
                params.get("scope") or DEFAULT_WEB_SCOPE,
                time.monotonic() + self.code_lifetime,
            )
            return _redirect(params["redirect_uri"], {"code": code, "state": params.get("state")})

    def _check_authorize_request(self, params: Mapping[str, str]) -> Response | None:
        """Client and callback problems are shown on an error page (never sent to an unverified redirect_uri);
        the rest goes back to the callback as `error=...`, as Salesforce does."""
        if params.get("client_id") != self.client_id:
            return _html_response(_error_page("invalid_client_id", "client identifier invalid"), 400)
        redirect_uri = params.get("redirect_uri", "")
        if not self.redirect_uri_allowed(redirect_uri):
            return _html_response(_error_page("redirect_uri_mismatch", "redirect_uri must match configuration"), 400)
        error: tuple[str, str] | None = None
        challenge = params.get("code_challenge") or ""
        if params.get("response_type") != "code":
            error = ("unsupported_response_type", "response type not supported")
        elif params.get("code_challenge_method", "S256") != "S256":
            error = ("invalid_request", "code_challenge_method must be S256")
        elif not challenge and self.require_pkce:
            error = ("invalid_request", "missing required code challenge")
        elif challenge and not _PKCE_RE.fullmatch(challenge):
            error = ("invalid_request", "invalid code challenge")
        elif any(scope not in OAUTH_SCOPES for scope in params.get("scope", "").split()):
            error = ("invalid_scope", "the requested scope is not allowed")
        elif "none" in params.get("prompt", "").split():
            error = ("login_required", "user is not logged in")
        if error is None:
            return None
        return _redirect(redirect_uri, {"error": error[0], "error_description": error[1], "state": params.get("state")})

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exactly one of `allowed_redirect_uris`, or (list empty) any http(s) URL on a loopback host."""
        if self.allowed_redirect_uris:
            return uri in self.allowed_redirect_uris
        try:
            parts = urlsplit(uri)
            _ = parts.port
        except ValueError:
            return False
        return (
            parts.scheme in ("http", "https")
            and parts.hostname in LOOPBACK_HOSTS
            and not parts.fragment
            and parts.username is None
            and parts.password is None
        )

    def _login(self, username: str, password: str) -> SimUser | None:
        wanted = username.strip().lower()
        user = next((u for u in self._users.values() if u.username.lower() == wanted), None)
        if user is None or user.password is None:
            return None
        return user if hmac.compare_digest(user.password.encode(), password.encode()) else None

    # --- OAuth: identity URL and userinfo ------------------------------------------------------------------
    def _request_user(self, request: Request) -> SimUser | None:
        header = request.headers.get("Authorization", "")
        if header:
            return self._bearer_user(header)
        return self._token_user(request.values.get("oauth_token", ""))

    def _identity_endpoint(self, request: Request, raw_org: str, raw_user: str) -> Response:
        if request.method not in ("GET", "POST"):
            return _plain_response("Bad_Request", 405)
        with self.lock:
            user = self._request_user(request)
            if user is None:
                return _plain_response("Bad_OAuth_Token", 403)
            if canonical_id(raw_org) != user.org_id or canonical_id(raw_user) != user.user_id:
                return _plain_response("Bad_Id", 403)
            body = self._identity_body(user, request.values.get("version"))
        return json_response(body, 200, {"Cache-Control": "no-store"})

    def _userinfo_endpoint(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _plain_response("Bad_Request", 405)
        with self.lock:
            user = self._request_user(request)
            if user is None:
                return _plain_response("Bad_OAuth_Token", 403)
            body = self._userinfo_body(user, request.values.get("version"))
        return json_response(body, 200, {"Cache-Control": "no-store"})

    def _identity_body(self, user: SimUser, version: str | None) -> dict[str, Any]:
        return {
            "id": f"{self.url}/id/{user.org_id}/{user.user_id}",
            "asserted_user": True,
            "user_id": user.user_id,
            "organization_id": user.org_id,
            "username": user.username,
            "nick_name": user.nickname,
            "display_name": user.name,
            "email": user.email,
            "email_verified": True,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "timezone": "America/Los_Angeles",
            "photos": self._photos(),
            "addr_street": None,
            "addr_city": None,
            "addr_state": None,
            "addr_country": "US",
            "addr_zip": None,
            "mobile_phone": None,
            "mobile_phone_verified": False,
            "is_lightning_login_user": False,
            "status": {"created_date": None, "body": None},
            "urls": self._identity_urls(user, version),
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": -28800000,
            "last_modified_date": self._user_modified(user),
            "is_app_installed": True,
        }

    def _userinfo_body(self, user: SimUser, version: str | None) -> dict[str, Any]:
        photos = self._photos()
        return {
            "sub": f"{self.url}/id/{user.org_id}/{user.user_id}",
            "user_id": user.user_id,
            "organization_id": user.org_id,
            "preferred_username": user.username,
            "nickname": user.nickname,
            "name": user.name,
            "email": user.email,
            "email_verified": True,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "zoneinfo": "America/Los_Angeles",
            "photos": photos,
            "profile": f"{self.url}/{user.user_id}",
            "picture": photos["picture"],
            "address": {"country": "US"},
            "is_salesforce_integration_user": user.user_id == self.user_id,
            "urls": self._identity_urls(user, version),
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": -28800000,
            "updated_at": self._user_modified(user),
            "is_app_installed": True,
        }

    def _photos(self) -> dict[str, str]:
        return {"picture": f"{self.url}/profilephoto/005/F", "thumbnail": f"{self.url}/profilephoto/005/T"}

    def _identity_urls(self, user: SimUser, version: str | None) -> dict[str, str]:
        v = "{version}" if not version else DEFAULT_VERSION if version == "latest" else version
        org15, base = user.org_id[:15], self.url
        chatter = f"{base}/services/data/v{v}/chatter"
        return {
            "enterprise": f"{base}/services/Soap/c/{v}/{org15}",
            "metadata": f"{base}/services/Soap/m/{v}/{org15}",
            "partner": f"{base}/services/Soap/u/{v}/{org15}",
            "rest": f"{base}/services/data/v{v}/",
            "sobjects": f"{base}/services/data/v{v}/sobjects/",
            "search": f"{base}/services/data/v{v}/search/",
            "query": f"{base}/services/data/v{v}/query/",
            "recent": f"{base}/services/data/v{v}/recent/",
            "tooling_soap": f"{base}/services/Soap/T/{v}/{org15}",
            "tooling_rest": f"{base}/services/data/v{v}/tooling/",
            "profile": f"{base}/{user.user_id}",
            "feeds": f"{chatter}/feeds",
            "groups": f"{chatter}/groups",
            "users": f"{chatter}/users",
            "feed_items": f"{chatter}/feed-items",
            "feed_elements": f"{chatter}/feed-elements",
            "custom_domain": base,
        }

    def _user_modified(self, user: SimUser) -> str:
        record = self._data["User"].get(user.user_id)
        stamp = record["LastModifiedDate"] if record else datetime(2020, 1, 1, tzinfo=UTC)
        return format_datetime(stamp)

    # --- users and record access ---------------------------------------------------------------------------
    def _seed(self) -> None:
        self._data = {name: {} for name in self.schema}
        self._shares = {}
        self._users = {}
        integration = SimUser(
            self.user_id,
            self.jwt_username,
            None,
            "Integration User",
            self.jwt_username,
            self.org_id,
            view_all=True,
            modify_all=True,
        )
        self._add_user(integration)

    def _add_user(self, user: SimUser) -> None:
        self._users[user.user_id] = user
        if user.org_id != self.org_id:
            return
        values = {"Username": user.username, "Email": user.email, "IsActive": True, "LastName": user.last_name}
        values["FirstName"] = user.first_name
        self._store(self.schema["User"], user.user_id, self._coerce(self.schema["User"], values), None)

    def _user_or_error(self, user_id: str) -> SimUser:
        user = self._users.get(canonical_id(user_id) or "")
        if user is None:
            raise ValueError(f"no user {user_id!r}")
        return user

    def _access(self, type_name: str, record: dict[str, Any], user: SimUser | None) -> int:
        """What `user` may do with a record (None: the Python API, which sees everything)."""
        if user is None:
            return _EDIT
        if user.org_id != self.org_id:
            return _NO_ACCESS
        model = self._sharing.get(type_name)
        if model is None:  # objects without owner (products, price books, users): readable by the whole org
            return _EDIT if user.modify_all else _READ
        if model == "ControlledByParent":
            parent_field, parent_type = _PARENTS[type_name]
            parent = self._data[parent_type].get(record.get(parent_field) or "")
            if parent is not None:
                return self._access(parent_type, parent, user)
        if user.modify_all or record.get("OwnerId") == user.user_id:
            return _EDIT
        level = self._shares.get((record["Id"], user.user_id), _NO_ACCESS)
        if model == "PublicReadWrite":
            return _EDIT
        if model == "PublicRead" or user.view_all:
            return max(level, _READ)
        return level

    def _require_edit(self, sobj: SObjectDef, record: dict[str, Any], user: SimUser | None) -> None:
        if self._access(sobj.name, record, user) < _EDIT:
            raise api_error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")

    # --- records -------------------------------------------------------------------------------------------
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
        user: SimUser | None = None,
    ) -> str:
        if user is not None and user.org_id != self.org_id:
            raise api_error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
        values = self._initial_values(sobj, user) | self._coerce(sobj, raw, read_only_ok=seeding)
        self._check_required(sobj, values)
        self._check_references(sobj, values, user)
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
        self._after_write(sobj, record, None)

    def _initial_values(self, sobj: SObjectDef, user: SimUser | None) -> dict[str, Any]:
        """Field defaults a create starts from (before the caller's values): picklist defaults, and the creating
        user as owner."""
        values = {d.name: d.default for d in sobj.fields.values() if d.default is not None}
        if user is not None and sobj.field("OwnerId"):
            values["OwnerId"] = user.user_id
        return values

    def _defaults(self, sobj: SObjectDef) -> dict[str, Any]:
        defaults: dict[str, Any] = {d.name: False for d in sobj.fields.values() if d.kind == "boolean"}
        if sobj.field("OwnerId"):
            defaults["OwnerId"] = self.user_id
        if sobj.name == "Order":
            defaults["OrderNumber"] = f"{self._order_seq:08d}"
            defaults["TotalAmount"] = 0.0
            self._order_seq += 1
        return defaults

    def _derive(self, sobj: SObjectDef, record: dict[str, Any]) -> None:
        if sobj.name in ("Contact", "User"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None
        if sobj.name == "PricebookEntry":
            product = self._data["Product2"].get(record.get("Product2Id") or "") or {}
            record["Name"], record["ProductCode"] = product.get("Name"), product.get("ProductCode")
        if sobj.name == "OrderItem":
            entry = self._data["PricebookEntry"].get(record.get("PricebookEntryId") or "")
            if entry is not None and record.get("Product2Id") is None:
                record["Product2Id"] = entry.get("Product2Id")
            quantity, price = record.get("Quantity"), record.get("UnitPrice")
            record["TotalPrice"] = None if quantity is None or price is None else quantity * price
            order = self._data["Order"].get(record.get("OrderId") or "")
            if self.currencies and order is not None:
                record["CurrencyIsoCode"] = order.get("CurrencyIsoCode")

    def _after_write(self, sobj: SObjectDef, record: dict[str, Any], previous_order: str | None) -> None:
        """Keep roll-ups true: an Order's TotalAmount is the sum of its items' TotalPrice."""
        if sobj.name == "OrderItem":
            for order_id in {record.get("OrderId"), previous_order} - {None}:
                self._roll_up_order(str(order_id))

    def _roll_up_order(self, order_id: str) -> None:
        order = self._data["Order"].get(order_id)
        if order is not None:
            items = [i for i in self._data["OrderItem"].values() if i.get("OrderId") == order_id]
            order["TotalAmount"] = float(sum(i.get("TotalPrice") or 0.0 for i in items))

    def _update(self, sobj: SObjectDef, raw_id: str, raw: dict[str, Any], user: SimUser | None = None) -> None:
        record_id = canonical_id(raw_id)
        record = self._data[sobj.name].get(record_id or "")
        if record is None or self._access(sobj.name, record, user) < _READ:
            raise _not_found()
        self._require_edit(sobj, record, user)
        values = self._coerce(sobj, raw)
        self._check_required(sobj, {**record, **values})
        self._check_references(sobj, values, user)
        previous_order = record.get("OrderId")
        record.update(values)
        record["LastModifiedDate"] = datetime.now(UTC)
        self._derive(sobj, record)
        self._after_write(sobj, record, previous_order)

    def _delete(self, sobj: SObjectDef, record_id: str) -> None:
        record = self._data[sobj.name].pop(record_id)
        if sobj.name == "Order":  # master-detail: the items go with their order
            for item_id in [i for i, item in self._data["OrderItem"].items() if item.get("OrderId") == record_id]:
                del self._data["OrderItem"][item_id]
        self._after_write(sobj, record, None)

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
            self._check_value(sobj, definition, values[definition.name])
        if read_only:
            raise api_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of this "
                "field and verify that it is read/write for your profile or permission set.",
                fields=read_only,
            )
        return values

    def _check_value(self, sobj: SObjectDef, definition: FieldDef, value: Any) -> None:
        """Field lengths and email addresses, as Salesforce checks them (rules and sources in `salesforce_fields`)."""
        if not isinstance(value, str):
            return
        eai = self.email_internationalization
        refused = check_value(sobj.name, definition.name, definition.kind, value, email_internationalization=eai)
        if refused is not None:
            raise api_error(refused.error_code, refused.message, fields=[refused.field])

    def _check_required(self, sobj: SObjectDef, values: dict[str, Any]) -> None:
        missing = [d.name for d in sobj.fields.values() if d.required and values.get(d.name) in (None, "")]
        if missing:
            raise api_error(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", fields=missing
            )

    def _check_references(self, sobj: SObjectDef, values: dict[str, Any], user: SimUser | None = None) -> None:
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
            target = self._data[definition.target].get(value)
            if target is None:
                raise api_error(
                    "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", fields=[definition.name]
                )
            # A detail needs edit access to its master; a lookup needs to see its target.
            needed = _EDIT if (sobj.name, definition.name) == ("OrderItem", "OrderId") else _READ
            if self._access(definition.target, target, user) < needed:
                raise api_error(
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"insufficient access rights on cross-reference id: {value}",
                    fields=[definition.name],
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
    def _query(self, soql: str, version: str, user: SimUser | None = None) -> dict[str, Any]:
        if not soql.strip():
            raise api_error("MALFORMED_QUERY", "SOQL statement cannot be empty")
        query = SoqlParser(soql, self.schema).parse()
        name = query.sobject.name
        rows = [
            rec
            for rec in self._data[name].values()
            if self._access(name, rec, user) >= _READ and self._matches(rec, query.where, user)
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
        if parent is None or self._access(hop.target or "", parent, user) < _READ:
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
        actual = _comparable(self._value(record, condition.path, user), kind)
        if isinstance(condition, Like):
            return actual is not None and condition.pattern.fullmatch(str(actual)) is not None
        if isinstance(condition, InList):
            found = actual in {_comparable(v, kind) for v in condition.values}
            return found != condition.negated
        return _compare(actual, condition.op, _comparable(condition.value, kind))

    def _sorted(self, rows: list[dict[str, Any]], key: OrderKey, user: SimUser | None) -> list[dict[str, Any]]:
        kind = key.path.leaf.kind
        present = [r for r in rows if self._value(r, key.path, user) is not None]
        missing = [r for r in rows if self._value(r, key.path, user) is None]
        present.sort(key=lambda r: _comparable(self._value(r, key.path, user), kind), reverse=key.descending)
        return missing + present if key.nulls_first else present + missing

    def _render_row(
        self, sobj: SObjectDef, record: dict[str, Any], select: list[FieldPath], version: str, user: SimUser | None
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"attributes": _attributes(sobj.name, record["Id"], version)}
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
                target[name] = {"attributes": _attributes(hop.target or "", parent["Id"], version)}
            target, current = target[name], parent
        target[path.leaf.name] = render_value(current.get(path.leaf.name))

    # --- composite -----------------------------------------------------------------------------------------
    def _composite(self, version: str, body: Any, user: SimUser | None) -> Reply:
        subrequests, all_or_none = _composite_input(body)
        snapshot = self._snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        bodies: dict[str, Any] = {}
        for index, sub in enumerate(subrequests):
            reply = self._run_subrequest(sub, bodies, user)
            results.append(_composite_result(sub["referenceId"], reply))
            if reply.status < 300:
                bodies[sub["referenceId"]] = reply.body
            elif snapshot is not None:
                self._restore(snapshot)
                return Reply(200, {"compositeResponse": _halted(results, subrequests[index + 1 :])})
        return Reply(200, {"compositeResponse": results})

    def _run_subrequest(self, sub: dict[str, Any], bodies: dict[str, Any], user: SimUser | None) -> Reply:
        try:
            return self._subrequest(sub, bodies, user)
        except SalesforceApiError as exc:
            return Reply(exc.status, exc.body)

    def _subrequest(self, sub: dict[str, Any], bodies: dict[str, Any], user: SimUser | None) -> Reply:
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
        return self._route(sub["method"], match.group(1), match.group(2) or "", args, body, top_level=False, user=user)

    # --- sObject tree --------------------------------------------------------------------------------------
    def _tree(self, sobj: SObjectDef, body: Any, version: str, user: SimUser | None) -> Reply:
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
                created[node.reference_id] = self._create(node.sobject, values, version, duplicates=True, user=user)
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


def _token_response(body: dict[str, str]) -> Response:
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _plain_response(text: str, status: int) -> Response:
    return Response(text, status=status, content_type="text/plain;charset=UTF-8", headers={"Cache-Control": "no-store"})


def _pkce_ok(challenge: str | None, verifier: str | None) -> bool:
    """RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge (no verifier without a challenge)."""
    if challenge is None:
        return not verifier
    if not verifier or not _PKCE_RE.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return hmac.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"), challenge)


def _redirect(uri: str, params: dict[str, str | None]) -> Response:
    """302 to `uri` with `params` added to its query (percent-encoded, spaces as %20: state comes back unchanged)."""
    parts = urlsplit(uri)
    extra = urlencode({key: value for key, value in params.items() if value is not None}, quote_via=quote)
    location = urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))
    return Response("", status=302, headers={"Location": location, "Cache-Control": "no-store"})


# --- pages (login and OAuth errors): plain HTML, everything echoed is escaped ----------------------------------

_AUTHORIZE_FIELDS = (
    *("response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"),
    *("scope", "prompt", "nonce"),
)
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}
_PAGE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f3f3f3; color: #181818; margin: 0; }
main { max-width: 24rem; margin: 4rem auto; background: #fff; border: 1px solid #ddd; border-radius: 6px;
       padding: 2rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; color: #0b5cab; }
label { display: block; margin: 1rem 0 .3rem; font-size: .9rem; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .6rem; font-size: 1rem;
       border: 1px solid #c9c9c9; border-radius: 4px; }
button { margin-top: 1.5rem; width: 100%; padding: .7rem; font-size: 1rem; color: #fff; background: #0176d3;
       border: 0; border-radius: 4px; cursor: pointer; }
.error { background: #fddde3; border: 1px solid #ba0517; color: #8e030f; padding: .6rem; border-radius: 4px; }
.hint { color: #666; font-size: .85rem; }
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, content: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_PAGE_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{content}\n</main>\n</body>\n</html>\n"
    )


def _login_page(params: Mapping[str, str], username: str, error: str | None) -> str:
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{_esc(params[name])}">'
        for name in _AUTHORIZE_FIELDS
        if params.get(name) is not None
    )
    alert = f'<div id="error" class="error" role="alert">{_esc(error)}</div>\n' if error else ""
    return _page(
        "Login | Salesforce",
        '<h1>Salesforce</h1>\n<p class="hint">Sandbox login</p>\n'
        f"{alert}"
        '<form method="post" action="/services/oauth2/authorize" id="login_form">\n'
        f"{hidden}\n"
        '<label for="username">Username</label>\n'
        f'<input type="text" id="username" name="username" value="{_esc(username)}" autocomplete="username" '
        'autocapitalize="off" spellcheck="false">\n'
        '<label for="password">Password</label>\n'
        '<input type="password" id="password" name="password" autocomplete="current-password">\n'
        '<button type="submit" id="login" name="Login">Log In</button>\n'
        "</form>",
    )


def _error_page(error: str, description: str) -> str:
    return _page(
        "Error | Salesforce",
        "<h1>OAuth Error</h1>\n"
        "<p>We can't authorize you because of an OAuth error. For more information, contact your Salesforce "
        "administrator.</p>\n"
        f'<p class="error">Error: <span id="error">{_esc(error)}</span></p>\n'
        f'<p id="error_description">{_esc(description)}</p>',
    )


def _html_response(page: str, status: int = 200) -> Response:
    return Response(page, status=status, content_type="text/html; charset=utf-8", headers=dict(_PAGE_HEADERS))


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
    if definition.values is not None and text not in definition.values:
        detail = (
            f"Currency ISO Code: invalid currency code: {text}"
            if definition.name == "CurrencyIsoCode"
            else f"{definition.name}: bad value for restricted picklist field: {text}"
        )
        raise api_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", detail, fields=[definition.name])
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
