"""Object Query plumbing shared by the Zuora simulator's ``/object-query/*`` endpoints.

Documented behaviour this module reproduces:

- ``filter[]`` clauses are ``<field>.<OP>:<value>``, one clause per ``filter[]`` item, ANDed; operators ``EQ``,
  ``NE``, ``LT``, ``GT``, ``SW`` and ``IN`` (``name.IN:[Amy,Bella]``) (developer.zuora.com, guide "Expand, filter,
  fields, and sort"). Field names are case-insensitive ("Both the filter[] and sort[] parameters are
  case-insensitive matching", API reference tag page "Object Queries"); values match exactly and case-sensitively
  ("All search fields support exact and case-sensitive matching with EQ, NE, and IN", guide "Filter Lists").
- ``expand[]`` items are case-insensitive too and may be comma-joined in one item: Zuora's own tutorial
  "Show specific product details" sends
  ``expand[]=productrateplancharges%2Cproductrateplancharges.productrateplanchargetiers``. Naming a nested
  expansion (``a.b``) expands its parent as well.
- ``pageSize`` is 1..99 (default 10); anything else is a 400 ("If the specified pageSize is less than 1 or greater
  than 99, Zuora will return a 400 error", API reference "Retrieve a product rate plan"). A longer result carries
  ``nextPage``, an opaque cursor to send back as ``cursor``.
- Fields whose value is null are left out of the answer unless ``includeNullFields=true`` (query parameter
  ``includeNullFields``: "If set to false, only fields with non-null values will be included"); the sample answer
  of "Show specific product details" indeed has no null field.

Sandbox limits, answered 400 like a bad filter: a filter field, operator or expansion the simulator does not
implement. ``fields[]`` and ``sort[]`` are ignored (rows keep their insertion order).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

MAX_PAGE_SIZE = 99
DEFAULT_PAGE_SIZE = 10
_FILTER = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*)\.(?P<op>EQ|NE|LT|GT|SW|IN):(?P<value>.*)$", re.DOTALL)

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]


class QueryError(ValueError):
    """A query parameter Zuora (or the sandbox) refuses with HTTP 400."""


@dataclass(frozen=True)
class ListQuery:
    """The parsed query parameters of an Object Query list call."""

    predicates: tuple[Predicate, ...]
    page_size: int
    start: int
    expand: frozenset[str]
    include_nulls: bool

    def matches(self, row: Row) -> bool:
        return all(predicate(row) for predicate in self.predicates)

    def page(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """The ``{"data": [...], "nextPage": ...}`` answer for the already filtered `rows`."""
        end = self.start + self.page_size
        body: dict[str, Any] = {"data": [shape(row, self.include_nulls) for row in rows[self.start : end]]}
        if end < len(rows):
            body["nextPage"] = _cursor(end)
        return body


def parse_list_query(
    args: MultiDict[str, str],
    filter_fields: Mapping[str, str],
    expansions: Collection[str] = (),
    not_filterable: Mapping[str, str] | None = None,
) -> ListQuery:
    """Parse filter[], pageSize, cursor, expand[] and includeNullFields; `filter_fields` maps lower-case names
    to the row keys they filter on, `not_filterable` lower-case names to the message refusing them. Raises
    QueryError."""
    return ListQuery(
        predicates=tuple(parse_filter(text, filter_fields, not_filterable) for text in args.getlist("filter[]")),
        page_size=_page_size(args.get("pageSize")),
        start=_offset(args.get("cursor")),
        expand=parse_expand(args.getlist("expand[]"), expansions),
        include_nulls=include_nulls(args),
    )


def parse_filter(
    text: str, filter_fields: Mapping[str, str], not_filterable: Mapping[str, str] | None = None
) -> Predicate:
    """One ``<field>.<OP>:<value>`` clause as a predicate on rows."""
    match = _FILTER.match(text)
    if not match:
        raise QueryError(f"Invalid filter[] clause '{text}': expected <field>.<EQ|NE|LT|GT|SW|IN>:<value>.")
    refused = (not_filterable or {}).get(match["field"].lower())
    if refused:
        raise QueryError(refused)
    key = filter_fields.get(match["field"].lower())
    if key is None:
        raise QueryError(
            f"Field '{match['field']}' cannot be used in filter[] (sandbox supports {sorted(filter_fields)})."
        )
    op, value = match["op"], match["value"]
    options = {v.strip() for v in value.strip().removeprefix("[").removesuffix("]").split(",")} if op == "IN" else set()
    tests: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda actual: _text(actual) == value,
        "NE": lambda actual: _text(actual) != value,
        "IN": lambda actual: _text(actual) in options,
        "SW": lambda actual: isinstance(actual, str) and actual.startswith(value),
        "LT": lambda actual: _compare(actual, value) < 0,
        "GT": lambda actual: _compare(actual, value) > 0,
    }
    test = tests[op]
    return lambda row: test(row.get(key))


def parse_expand(items: Iterable[str], expansions: Collection[str]) -> frozenset[str]:
    """The expansions asked for (lower-case, parents of nested ones included); unknown ones raise QueryError."""
    asked = {part.strip().lower() for item in items for part in item.split(",") if part.strip()}
    unknown = sorted(asked - set(expansions))
    if unknown:
        raise QueryError(f"expand[] '{unknown[0]}' is not supported here (sandbox supports {sorted(expansions)}).")
    parents = {name.rsplit(".", 1)[0] for name in asked if "." in name}
    return frozenset(asked | parents)


def include_nulls(args: MultiDict[str, str]) -> bool:
    return (args.get("includeNullFields") or "").strip().lower() == "true"


def shape(value: Any, keep_nulls: bool) -> Any:
    """`value` with null fields dropped at every level, unless `keep_nulls`."""
    if keep_nulls:
        return value
    if isinstance(value, dict):
        return {key: shape(item, keep_nulls) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [shape(item, keep_nulls) for item in value]
    return value


def _page_size(text: str | None) -> int:
    try:
        size = int(text) if text else DEFAULT_PAGE_SIZE
    except ValueError:
        raise QueryError(f"pageSize must be an integer between 1 and {MAX_PAGE_SIZE}.") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise QueryError(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
    return size


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise QueryError(f"Invalid cursor '{cursor}'.") from None
    if not isinstance(offset, int) or offset < 0:
        raise QueryError(f"Invalid cursor '{cursor}'.")
    return offset


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compare(actual: Any, value: str) -> int:
    """-1/0/1 comparing `actual` with the filter value: numerically when both are numbers, else as text; a null
    field never compares (0 fails both LT and GT)."""
    if actual is None or isinstance(actual, bool):
        return 0
    try:
        number, limit = float(actual), float(value)
    except (TypeError, ValueError):
        text = str(actual)
        return (text > value) - (text < value)
    return (number > limit) - (number < limit)
