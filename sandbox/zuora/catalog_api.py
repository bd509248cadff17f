"""The product catalog over HTTP, and Object Query.

Product catalog (``sandbox.zuora.catalog``; reset to ``SANDBOX_TENANT``, ``sandbox.zuora.tenant``):

- ``GET /object-query/product-rate-plans`` (``filter[]`` on ``id``, ``productId``, ``name``,
  ``productRatePlanNumber``; ``pageSize``/``cursor``) and ``GET /object-query/product-rate-plans/{key}`` (id or
  ``PRP-`` number), with ``expand[]`` ``product``, ``productrateplancharges``,
  ``productrateplancharges.productrateplanchargetiers`` and ``externalproductrateplans``; without the expand no
  charges. Filter, paging and expand rules: ``sandbox.zuora.object_query``; shapes: ``sandbox.zuora.catalog``.
  An unknown key answers 404 (see ``_rate_plan_by_key``). Object Query has no filter on the externally managed
  plan id; ``GET /v1/product-rate-plans/external-id/{externalId}`` lists the plans carrying it.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from sandbox.core import json_response
from sandbox.zuora.accounts import account_query_row
from sandbox.zuora.errors import zuora_failure
from sandbox.zuora.object_query import QueryError, include_nulls, parse_expand, parse_list_query, shape
from sandbox.zuora.state import ZuoraState

RATE_PLANS_BY_EXTERNAL_ID = "/v1/product-rate-plans/external-id"
OBJECT_QUERY_ACCOUNTS = "/object-query/accounts"
OBJECT_QUERY_RATE_PLANS = "/object-query/product-rate-plans"
_ACCOUNT_FILTERS = {
    "id": "id",
    "accountnumber": "accountNumber",
    "crmid": "crmId",
    "currency": "currency",
    "status": "status",
}
_RATE_PLAN_FILTERS = {
    "id": "id",
    "productid": "productId",
    "name": "name",
    "productrateplannumber": "productRatePlanNumber",
}
# The externally managed plan id is no field of the Object Query product rate plan (sandbox.zuora.catalog).
_EXTERNAL_ID_NOT_FILTERABLE = (
    "The product rate plan has no field '{}' in Object Query: the externally managed plan id is the related "
    "ExternalProductRatePlan (expand[]=externalproductrateplans); "
    "GET /v1/product-rate-plans/external-id/{{externalId}} lists the rate plans carrying one."
)
_RATE_PLAN_NOT_FILTERABLE = {
    name.lower(): _EXTERNAL_ID_NOT_FILTERABLE.format(name)
    for name in ("externallyManagedPlanId", "externallyManagedPlanIds", "externalProductRatePlanId")
}
_RATE_PLAN_EXPANSIONS = (
    "product",
    "productrateplancharges",
    "productrateplancharges.productrateplanchargetiers",
    "externalproductrateplans",
)


class CatalogApi(ZuoraState):
    """Object Query (accounts, product rate plans) and the v1 list of rate plans by external id."""

    # --- product catalog -------------------------------------------------------------------------
    def _rate_plans_by_external_id(self, external_id: str) -> Response:
        """ "List product rate plans by external ID" (an id nobody carries: an empty list)."""
        with self.lock:
            plans = [self.catalog.external_id_row(p) for p in self.catalog.rate_plans_by_external_id(external_id)]
        return json_response({"success": True, "productRatePlans": plans})

    # --- Object Query ----------------------------------------------------------------------------
    def _object_query(self, request: Request) -> Response:
        try:
            if request.path == OBJECT_QUERY_ACCOUNTS:
                query = parse_list_query(request.args, _ACCOUNT_FILTERS)
                with self.lock:
                    rows = [account_query_row(a) for a in self.accounts.values()]
                return json_response(query.page([row for row in rows if query.matches(row)]))
            if request.path == OBJECT_QUERY_RATE_PLANS:
                query = parse_list_query(
                    request.args, _RATE_PLAN_FILTERS, _RATE_PLAN_EXPANSIONS, _RATE_PLAN_NOT_FILTERABLE
                )
                with self.lock:
                    rows = [self.catalog.rate_plan_row(p, query.expand) for p in self.catalog.rate_plans.values()]
                return json_response(query.page([row for row in rows if query.matches(row)]))
            return self._rate_plan_by_key(request, request.path.rsplit("/", 1)[1])
        except QueryError as exc:
            return json_response(zuora_failure(20, str(exc)), 400)

    def _rate_plan_by_key(self, request: Request, key: str) -> Response:
        """Object Query "Retrieve a product rate plan". Zuora documents only 200/400/401/403 for it (SDK
        2025-08-12); an unknown key answers 404, the status of a missing resource, with the v1 error body and
        category 40 ("Not found", guide "Error codes"), the body the other simulated errors have."""
        expand = parse_expand(request.args.getlist("expand[]"), _RATE_PLAN_EXPANSIONS)
        with self.lock:
            plan = self.catalog.rate_plan(key)
            row = None if plan is None else self.catalog.rate_plan_row(plan, expand)
        if row is None:
            return json_response(zuora_failure(40, f"Cannot find entity by key: '{key}'."), 404)
        return json_response(shape(row, include_nulls(request.args)))
