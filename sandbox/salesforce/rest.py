"""The REST data API: query, sObject create/get/update/delete, and routing to Composite and sObject Tree, with
Salesforce's error bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import json_response
from sandbox.salesforce.composite import CompositeApi
from sandbox.salesforce.describe import describe
from sandbox.salesforce.errors import SalesforceApiError, api_error, json_parser_error, not_found
from sandbox.salesforce.ids import canonical_id
from sandbox.salesforce.schema import SObjectDef
from sandbox.salesforce.soql import SoqlEngine
from sandbox.salesforce.state import READ, Reply, SimUser
from sandbox.salesforce.values import record_attributes, render_value


class RestApi(CompositeApi, SoqlEngine):
    """`/services/data/vXX.X/...` for an authenticated user."""

    def _safely(self, action: Callable[[], Reply]) -> Reply:
        try:
            return action()
        except SalesforceApiError as exc:
            return Reply(exc.status, exc.body)

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
            return Reply(200, self._query(soql, version, user, include_deleted=parts == ["queryAll"]))
        if len(parts) == 2 and parts[0] == "sobjects":
            _allow(method, "POST")
            return self._create_reply(self._sobject_or_404(parts[1]), body, version, user)
        if len(parts) == 3 and parts[0] == "sobjects" and parts[2] == "describe":
            _allow(method, "GET")
            return Reply(200, describe(self._sobject_or_404(parts[1])))
        if len(parts) == 3 and parts[0] == "sobjects":
            return self._record_reply(method, self._sobject_or_404(parts[1]), parts[2], args, body, version, user)
        if top_level and parts == ["composite"]:
            _allow(method, "POST")
            return self._composite(version, body, user)
        if top_level and len(parts) == 3 and parts[:2] == ["composite", "tree"]:
            _allow(method, "POST")
            return self._tree(self._sobject_or_404(parts[2]), body, version, user)
        raise not_found()

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
        if record is None or record_id is None or self._access(sobj.name, record, user) < READ:
            raise not_found()
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
        out: dict[str, Any] = {"attributes": record_attributes(sobj.name, record["Id"], version)}
        out.update({d.name: render_value(record.get(d.name)) for d in definitions})
        return out


def to_response(reply: Reply) -> Response:
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
        raise json_parser_error(f"Unexpected character in request body: {exc}") from None


def _object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise json_parser_error("Cannot deserialize instance of sObject from the request body")
    return body
