"""The checkout API's resolver and how it reads a request: a JSON body bounded in size, nesting and numbers (a
repeated key is an error), media types in any letter case, and validation under this deployment's input rules."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from sfzsync.checkout.models import InputRules, input_rules
from sfzsync.errors import RequestTooLargeError
from sfzsync.observability import logger
from sfzsync.operations.ledger import key_hash

# The largest valid checkout (10 subscriptions of 20 rate plans) is about 50 KB of JSON.
MAX_BODY_CHARACTERS = 256 * 1024


def read_json_body(text: str) -> Any:
    """`json.loads` for request bodies: bounded size, nesting and numbers; a repeated key is an error, not last-wins."""
    if len(text) > MAX_BODY_CHARACTERS:
        raise RequestTooLargeError(f"the request body is over the {MAX_BODY_CHARACTERS // 1024} KiB limit")
    try:
        return json.loads(text, object_pairs_hook=_without_duplicate_keys)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # an integer of more than 4,300 digits (Python's int conversion limit)
        raise json.JSONDecodeError(str(error).split(";", 1)[0], text, 0) from None


class CheckoutResolver(APIGatewayRestResolver):
    """The REST resolver, validating each request under this deployment's input rules.

    Media types are case-insensitive (RFC 9110 8.3.1) while Powertools compares `application/json` as typed, so the
    media type of Content-Type is lower-cased (its parameters are kept as sent) before anything reads it.
    """

    def __init__(self, rules: Callable[[], InputRules], **options: Any) -> None:
        super().__init__(**options)
        self._rules = rules

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        key = _header(event, "idempotency-key")
        if key:  # every log line of this request carries it: the attempts of one checkout join up (and the ledger)
            logger.append_keys(key_hash=key_hash(key))
        with input_rules(self._rules()):
            return super().resolve(_with_lower_case_media_type(event), context)


def _header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers")
    if not isinstance(headers, dict):
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return value if isinstance(value, str) else None


def _lower_media_type(value: str) -> str:
    media_type, separator, parameters = value.partition(";")
    return media_type.lower() + separator + parameters


def _with_lower_case_media_type(event: Mapping[str, Any]) -> dict[str, Any]:
    fixed = dict(event)
    headers = event.get("headers")
    if isinstance(headers, dict):
        fixed["headers"] = {
            k: _lower_media_type(v) if str(k).lower() == "content-type" and isinstance(v, str) else v
            for k, v in headers.items()
        }
    multi = event.get("multiValueHeaders")
    if isinstance(multi, dict):
        fixed["multiValueHeaders"] = {
            k: [_lower_media_type(v) if isinstance(v, str) else v for v in values]
            if str(k).lower() == "content-type" and isinstance(values, list)
            else values
            for k, values in multi.items()
        }
    return fixed


def _without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise json.JSONDecodeError(f"duplicate key {key!r}", "", 0)
        seen.add(key)
    return dict(pairs)
