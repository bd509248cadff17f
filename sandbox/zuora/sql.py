"""The SQL subset the simulator's Data Query answers: enough for the backfill's query over accounts and their bill-to
contacts, with Data Query's own error messages for what it cannot resolve.

Data Query runs Trino ("Construct SQL Queries in Data Query": Trino 351; tables such as ``account`` and ``contact``,
one per object). Reproduced here: unquoted identifiers are case-insensitive; ``SELECT`` of ``alias.column`` items
with ``AS`` names; ``FROM`` a table with an alias; ``[LEFT | INNER] JOIN ... ON a.x = b.y``; ``WHERE`` with ``=``,
``<>``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, ``IS [NOT] NULL``, ``[NOT] IN (...)``, ``AND``, ``OR``, ``NOT`` and
parentheses (a comparison with NULL is never true, text compares case-sensitively); ``ORDER BY`` columns or output
names, ``ASC``/``DESC``; ``LIMIT``. Errors read as Data Query's help page shows them ("Column region_c cannot be
resolved", "Table ... does not exist"); anything else in the grammar is a syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Table:
    """A table's columns (lower-case) and rows (keyed by those columns)."""

    columns: frozenset[str]
    rows: Sequence[Row]


Tables = Mapping[str, Table]

_TOKEN = re.compile(
    r"""(?P<ws>\s+)|(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op><>|!=|<=|>=|=|<|>)|(?P<punct>[(),.*])""",
    re.VERBOSE,
)
_KEYWORD_LIST = "select from as join left inner outer on where and or not is null in order by asc desc limit true false"
_KEYWORDS = frozenset(_KEYWORD_LIST.split())


class SqlError(ValueError):
    """Why Data Query could not run the query (the job's `errorMessage`)."""


@dataclass(frozen=True)
class Column:
    table: str | None  # the alias (or table name) it was qualified with
    name: str


@dataclass(frozen=True)
class Compare:
    column: Column
    op: str
    value: Any


@dataclass(frozen=True)
class IsNull:
    column: Column
    negated: bool


@dataclass(frozen=True)
class InValues:
    column: Column
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class Logical:
    op: str  # "and", "or", "not"
    items: tuple[Condition, ...]


Condition = Compare | IsNull | InValues | Logical


@dataclass(frozen=True)
class Join:
    table: str
    alias: str
    left: Column
    right: Column
    outer: bool


@dataclass
class Select:
    columns: list[tuple[Column, str]]  # (column, output name)
    table: str
    alias: str
    joins: list[Join] = field(default_factory=list)
    where: Condition | None = None
    order: list[tuple[Column, bool]] = field(default_factory=list)  # (column or output name, descending)
    limit: int | None = None

    def mentions(self, name: str) -> bool:
        """Whether the query names column `name` anywhere (Data Query reads deleted rows when it selects `deleted`)."""
        return any(column.name == name for column, _ in self.columns)


class _Parser:
    def __init__(self, sql: str) -> None:
        self.tokens = _tokens(sql)
        self.index = 0

    @property
    def current(self) -> tuple[str, str]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, *words: str) -> bool:
        kind, text = self.current
        return (kind == "ident" and text in words) or (kind in ("punct", "op") and text in words)

    def expect(self, *words: str) -> str:
        if not self.at(*words):
            raise self.error()
        return self.take()[1]

    def error(self) -> SqlError:
        kind, text = self.current
        found = "<EOF>" if kind == "eof" else text
        return SqlError(f"line 1:{self.index + 1}: mismatched input '{found}'")

    def identifier(self) -> str:
        kind, text = self.current
        if kind != "ident" or text in _KEYWORDS:
            raise self.error()
        return self.take()[1]

    def column(self) -> Column:
        first = self.identifier()
        if self.at("."):
            self.take()
            return Column(first, self.identifier())
        return Column(None, first)

    def parse(self) -> Select:
        self.expect("select")
        columns = [self.select_item()]
        while self.at(","):
            self.take()
            columns.append(self.select_item())
        self.expect("from")
        table, alias = self.table_ref()
        query = Select(columns, table, alias)
        while self.at("join", "left", "inner"):
            query.joins.append(self.join())
        if self.at("where"):
            self.take()
            query.where = self.condition()
        if self.at("order"):
            self.take()
            self.expect("by")
            query.order = [self.order_item()]
            while self.at(","):
                self.take()
                query.order.append(self.order_item())
        if self.at("limit"):
            self.take()
            kind, text = self.take()
            if kind != "number" or not text.isdigit():
                raise self.error()
            query.limit = int(text)
        if self.current[0] != "eof":
            raise self.error()
        return query

    def select_item(self) -> tuple[Column, str]:
        column = self.column()
        if self.at("as"):
            self.take()
            return column, self.identifier()
        if self.current[0] == "ident" and self.current[1] not in _KEYWORDS:
            return column, self.identifier()
        return column, column.name

    def table_ref(self) -> tuple[str, str]:
        table = self.identifier()
        if self.at("as"):
            self.take()
        if self.current[0] == "ident" and self.current[1] not in _KEYWORDS:
            return table, self.identifier()
        return table, table

    def join(self) -> Join:
        outer = False
        if self.at("left"):
            self.take()
            outer = True
            if self.at("outer"):
                self.take()
        elif self.at("inner"):
            self.take()
        self.expect("join")
        table, alias = self.table_ref()
        self.expect("on")
        left = self.column()
        self.expect("=")
        return Join(table, alias, left, self.column(), outer)

    def condition(self) -> Condition:
        items = [self.conjunction()]
        while self.at("or"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Logical("or", tuple(items))

    def conjunction(self) -> Condition:
        items = [self.negation()]
        while self.at("and"):
            self.take()
            items.append(self.negation())
        return items[0] if len(items) == 1 else Logical("and", tuple(items))

    def negation(self) -> Condition:
        if self.at("not"):
            self.take()
            return Logical("not", (self.negation(),))
        if self.at("("):
            self.take()
            inner = self.condition()
            self.expect(")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        column = self.column()
        if self.at("is"):
            self.take()
            negated = self.at("not")
            if negated:
                self.take()
            self.expect("null")
            return IsNull(column, negated)
        if self.at("not", "in"):
            negated = self.at("not")
            if negated:
                self.take()
            self.expect("in")
            self.expect("(")
            values = [self.literal()]
            while self.at(","):
                self.take()
                values.append(self.literal())
            self.expect(")")
            return InValues(column, tuple(values), negated)
        kind, op = self.take()
        if kind != "op":
            raise self.error()
        return Compare(column, "!=" if op == "<>" else op, self.literal())

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "ident" and text in ("true", "false"):
            return text == "true"
        raise self.error()

    def order_item(self) -> tuple[Column, bool]:
        column = self.column()
        descending = False
        if self.at("asc", "desc"):
            descending = self.take()[1] == "desc"
        return column, descending


def _tokens(sql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        if match is None:
            raise SqlError(f"line 1:{position + 1}: token recognition error at: '{sql[position]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            text = match.group()
            tokens.append((kind, text.lower() if kind == "ident" else text))
        position = match.end()
    tokens.append(("eof", ""))
    return tokens


def parse(sql: str) -> Select:
    """The parsed query; raises SqlError for anything outside the subset."""
    return _Parser(sql.strip().rstrip(";")).parse()


def run(query: Select, tables: Tables) -> list[dict[str, Any]]:
    """Evaluate `query` over `tables` (by lower-case name); the rows as output name → value."""
    aliases = {query.alias: query.table, **{join.alias: join.table for join in query.joins}}
    for table in aliases.values():
        if table not in tables:
            raise SqlError(f"Table {table} does not exist")
    resolve = _Resolver(aliases, tables)
    rows: list[dict[str, Row]] = [{query.alias: row} for row in tables[query.table].rows]
    for join in query.joins:
        rows = _joined(rows, join, tables[join.table].rows, resolve)
    if query.where is not None:
        test = _predicate(query.where, resolve)
        rows = [row for row in rows if test(row)]
    outputs = {name: column for column, name in query.columns}
    for column, descending in reversed(query.order):
        key = resolve(outputs.get(column.name, column) if column.table is None else column)
        present = [row for row in rows if key(row) is not None]
        present.sort(key=key, reverse=descending)
        missing = [row for row in rows if key(row) is None]
        rows = present + missing  # Trino: NULLS LAST by default, either direction
    if query.limit is not None:
        rows = rows[: query.limit]
    getters = [(name, resolve(column)) for column, name in query.columns]
    return [{name: get(row) for name, get in getters} for row in rows]


class _Resolver:
    def __init__(self, aliases: Mapping[str, str], tables: Tables) -> None:
        self.aliases = aliases
        self.columns = {alias: tables[table].columns for alias, table in aliases.items()}

    def __call__(self, column: Column) -> Callable[[Mapping[str, Row | None]], Any]:
        if column.table is not None:
            owners = [column.table] if column.table in self.aliases else []
        else:
            owners = [alias for alias, names in self.columns.items() if column.name in names]
        if len(owners) != 1 or column.name not in self.columns[owners[0]]:
            shown = f"{column.table}.{column.name}" if column.table else column.name
            raise SqlError(f"Column {shown} cannot be resolved")
        alias, name = owners[0], column.name

        def get(row: Mapping[str, Row | None]) -> Any:
            found = row.get(alias)
            return None if found is None else found.get(name)

        return get


def _joined(rows: list[dict[str, Row]], join: Join, table: Sequence[Row], resolve: _Resolver) -> list[dict[str, Row]]:
    """`ON a.x = b.y`: one side names the joined table (by its alias), the other a table already in the rows."""
    if join.right.table == join.alias:
        own, other = join.right, join.left
    elif join.left.table == join.alias:
        own, other = join.left, join.right
    else:
        raise SqlError(f"Column {join.right.name} cannot be resolved")
    own_get, other_get = resolve(own), resolve(other)
    index: dict[Any, list[Row]] = {}
    for candidate in table:
        value = own_get({join.alias: candidate})
        if value is not None:
            index.setdefault(value, []).append(candidate)
    result: list[dict[str, Row]] = []
    for row in rows:
        matches = index.get(other_get(row), [])
        if matches:
            result.extend({**row, join.alias: match} for match in matches)
        elif join.outer:
            result.append({**row, join.alias: {}})
    return result


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b),
    ">=": lambda a, b: bool(a >= b),
}


def _predicate(condition: Condition, resolve: _Resolver) -> Callable[[Mapping[str, Row]], bool]:
    if isinstance(condition, Logical):
        parts = [_predicate(item, resolve) for item in condition.items]
        if condition.op == "not":
            return lambda row: not parts[0](row)
        combine = all if condition.op == "and" else any
        return lambda row: combine(part(row) for part in parts)
    get = resolve(condition.column)
    if isinstance(condition, IsNull):
        return lambda row: (get(row) is None) != condition.negated
    if isinstance(condition, InValues):
        return lambda row: get(row) is not None and (get(row) in condition.values) != condition.negated
    compare = _COMPARE[condition.op]

    def test(row: Mapping[str, Row]) -> bool:
        value = get(row)
        if value is None or condition.value is None:
            return False
        try:
            return compare(value, condition.value)
        except TypeError:
            return False

    return test
