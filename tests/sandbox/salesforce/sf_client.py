"""simple-salesforce as these tests use it, typed for mypy. The library types `sf.<Object>` as a union with its bulk
handlers, `restful` as possibly None and an error's `content` as bytes; against the simulator they are an `SFType`,
the JSON answer and the parsed JSON error body. At run time these names are simple-salesforce's own classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simple_salesforce import api, exceptions

    class Salesforce(api.Salesforce):
        def __getattr__(self, name: str) -> api.SFType: ...

        def restful(
            self, path: str, params: dict[str, Any] | None = None, method: str = "GET", **kwargs: Any
        ) -> Any: ...

    class SalesforceExpiredSession(exceptions.SalesforceExpiredSession):
        content: Any

    class SalesforceMalformedRequest(exceptions.SalesforceMalformedRequest):
        content: Any

    class SalesforceResourceNotFound(exceptions.SalesforceResourceNotFound):
        content: Any

else:
    from simple_salesforce.api import Salesforce
    from simple_salesforce.exceptions import (
        SalesforceExpiredSession,
        SalesforceMalformedRequest,
        SalesforceResourceNotFound,
    )

__all__ = ["Salesforce", "SalesforceExpiredSession", "SalesforceMalformedRequest", "SalesforceResourceNotFound"]
