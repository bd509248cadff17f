"""The Salesforce "Send to Zuora" button, `/sfdccpq`: sign the user in, preview the record, push it on POST.

- `target`: the button URL (`sfdc` domain, Account or Order Id), checked first.
- `cookies`: sealed session and sign-in cookies, PKCE, CSRF tokens.
- `plans`: what a push will do (account, the Zuora order line by line, blocking problems).
- `planning`: who may push, and what a Salesforce Account or CPQ Order becomes in Zuora (read only).
- `lifecycle`: new Order, amendment, renewal and cancellation as Zuora order actions.
- `products`: Product2 → Zuora product rate plan (mapping field, else externally managed plan id) and quantities.
- `order_body`: the one Create Order body of a push (the rule table of order actions).
- `flow`: the pushes (lock, Idempotency-Key, repair of a lost write-back).
- `write_back`: the Zuora numbers written onto the Order and its order products.
- `views`: the HTML pages.
- `store`: push records and the per-Account lock in DynamoDB.
- `service`: what the handler calls, one method per route.
- `http_errors`: the one mapping of exceptions to HTML pages.
"""

__all__ = [
    "cookies",
    "flow",
    "http_errors",
    "lifecycle",
    "order_body",
    "planning",
    "plans",
    "products",
    "service",
    "store",
    "target",
    "views",
    "write_back",
]
