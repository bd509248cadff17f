"""The checkout API, `POST /orders`: link the customer in Salesforce, then create the Zuora order.

- `models`: the request and response bodies (they make the OpenAPI document) and `InputRules`.
- `limits`: what Salesforce and Zuora accept in the fields a checkout writes.
- `signature`: the `X-Signature` header.
- (how the customer is found in Salesforce is the kernel's `sfzsync.matching`, shared with the backfill)
- `catalog`: Zuora's product catalog, quantities per rate plan.
- `preflight`: every problem only Zuora can tell (catalog, named billing account, payment method), before writing.
- `order_body`: the Create Order body.
- `flow`: `run_checkout`, the flow itself over the gateway interfaces.
- `store`: the customer lock and the checkpoint in DynamoDB.
- `service`: what the handler calls: signature, idempotency (Powertools), the flow.
- `http_errors`: the resolver and the one mapping of exceptions to HTTP answers.
"""

__all__ = [
    "catalog",
    "flow",
    "http_errors",
    "limits",
    "models",
    "order_body",
    "preflight",
    "service",
    "signature",
    "store",
]
