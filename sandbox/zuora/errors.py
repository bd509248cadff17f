"""Zuora's business errors, as the simulator answers them:

- Business errors are HTTP 200 ``{"success": false, "processId", "reasons": [{"code", "message"}]}``
  with an 8-digit code: 6-digit resource code + 2-digit category (20 invalid value, 21 unknown field,
  22 missing required field, 30 rule restriction, 40 not found, 45 unsupported, 90 malformed request;
  developer.zuora.com guide "Error codes"). The resource code is always ``500000``, which Zuora documents
  for "an unknown object and an unknown field".
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.zuora.openapi import Violation

RESOURCE_ORDER = "500000"
RESOURCE_ACCOUNT = "500000"
_CATEGORY_OF_KIND = {"invalid": 20, "unknown": 21, "required": 22}


def zuora_failure(category: int, message: str, object_code: str = "500000") -> dict[str, Any]:
    """A Zuora ``success: false`` body; the code is the 6-digit resource code + 2-digit category."""
    return _failure([(category, message)], object_code)


def _failure(reasons: list[tuple[int, str]], object_code: str) -> dict[str, Any]:
    return {
        "success": False,
        "processId": uuid.uuid4().hex[:16].upper(),
        "reasons": [{"code": int(f"{object_code}{category:02d}"), "message": message} for category, message in reasons],
    }


class RejectedError(Exception):
    def __init__(self, category: int, message: str, object_code: str = RESOURCE_ORDER) -> None:
        super().__init__(message)
        self.body = zuora_failure(category, message, object_code)

    @classmethod
    def for_violations(cls, violations: list[Violation], object_code: str) -> RejectedError:
        rejected = cls(20, str(violations[0]), object_code)
        rejected.body = _failure([(_CATEGORY_OF_KIND.get(v.kind, 20), str(v)) for v in violations], object_code)
        return rejected
