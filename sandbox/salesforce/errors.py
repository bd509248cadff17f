"""Salesforce's error answers: an HTTP status and the JSON list of `{message, errorCode, fields}` it sends."""

from __future__ import annotations

import json
from typing import Any


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


def not_found() -> SalesforceApiError:
    return api_error("NOT_FOUND", "The requested resource does not exist", 404)


def json_parser_error(message: str) -> SalesforceApiError:
    return api_error("JSON_PARSER_ERROR", message)
