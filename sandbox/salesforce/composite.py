"""Composite (up to 25 subrequests, of them up to 5 queries; `@{reference}` substitution, allOrNone) and sObject
Tree (nested records, all-or-none, up to 200 records), as Salesforce answers them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.salesforce.errors import SalesforceApiError, api_error, json_parser_error, not_found
from sandbox.salesforce.records import RecordStore
from sandbox.salesforce.schema import FieldDef, SObjectDef
from sandbox.salesforce.state import DATA_PATH_RE, Reply, SimUser

MAX_COMPOSITE_SUBREQUESTS = 25
# A Composite call holds up to 25 subrequests, of which up to 5 may be sObject Collections or query operations
# (Query, QueryAll, and fetching the next batch of a query's results) (REST API Developer Guide, "Composite").
MAX_COMPOSITE_QUERIES = 5
_QUERY_PATH_RE = re.compile(r"/services/data/v[\d.]+/query(?:All)?(?:/|$)")
MAX_TREE_RECORDS = 200
HALTED_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REFERENCE_ID_RE = re.compile(r"[A-Za-z0-9_]+")


class _UnresolvedReferenceError(Exception):
    pass


class CompositeApi(RecordStore):
    """The Composite and sObject Tree resources; each subrequest goes through the REST router (`_route`)."""

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
        match = DATA_PATH_RE.fullmatch(parsed.path)
        if match is None:
            raise not_found()
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


def _composite_input(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise json_parser_error("The request body must contain a 'compositeRequest' collection")
    subrequests = body["compositeRequest"]
    if len(subrequests) > MAX_COMPOSITE_SUBREQUESTS:
        raise api_error("INVALID_INPUT", f"Maximum number of subrequests allowed is {MAX_COMPOSITE_SUBREQUESTS}")
    seen: set[str] = set()
    for sub in subrequests:
        _check_subrequest(sub, seen)
    queries = sum(1 for sub in subrequests if _QUERY_PATH_RE.search(urlsplit(sub["url"]).path))
    if queries > MAX_COMPOSITE_QUERIES:
        # The limit is documented; its error body is not: answered like the subrequest limit above.
        raise api_error("INVALID_INPUT", f"Maximum number of query subrequests allowed is {MAX_COMPOSITE_QUERIES}")
    return subrequests, bool(body.get("allOrNone", False))


def _check_subrequest(sub: Any, seen: set[str]) -> None:
    if not isinstance(sub, dict):
        raise json_parser_error("Each compositeRequest item must be an object")
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
