"""Salesforce ⇄ Zuora self-service order sync: the domain package shipped in the Lambda layer.

A subpackage per capability over shared gateways and a small kernel:

- `checkout`: `POST /orders`, the checkout API (match or create the Salesforce Account, then Zuora Create Order).
- `send_to_zuora`: the Salesforce "Send to Zuora" button (`/sfdccpq`): sign-in, preview, push.
- `backfill`: links the Zuora accounts that have no valid CRM Account ID (a local command and a Step Functions
  state machine over one worker).
- `gateways`: Salesforce (integration user, and the signed-in user), Zuora, DynamoDB, and the HTTP transport.
- kernel: `settings` (the environment and the secret, validated once), `clients` (built once per cold start),
  `errors` (every exception and its HTTP status), `ids` (Salesforce Ids), `matching` (how a customer is found in
  Salesforce: the checkout's and the backfill's rules), `observability` (Logger, Tracer, Metrics), `zuora_orders`
  (the Create Order pieces both capabilities send).

Subpackages are imported by name (`from sfzsync.checkout.service import CheckoutService`): importing the package
imports nothing else but `deferred_imports`, which keeps the parts of simple-salesforce no request calls (its SOAP
Metadata API with zeep and lxml, its login helpers, its Bulk API) from loading with it; so each function loads only
what its requests need.
"""

from sfzsync.deferred_imports import defer_unused_simple_salesforce_modules

# Here, because every module of the package runs this file before its own imports (simple-salesforce among them).
defer_unused_simple_salesforce_modules()

__all__ = [
    "backfill",
    "checkout",
    "clients",
    "deferred_imports",
    "errors",
    "gateways",
    "ids",
    "matching",
    "observability",
    "send_to_zuora",
    "settings",
    "zuora_orders",
]
