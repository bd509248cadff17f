"""The Salesforce "Send to Zuora" button, `/sfdccpq`: sign the user in, preview the record, push it on POST.

- `target`: the button URL (`sfdc` domain, Account or Order Id), checked first.
- `cookies`: sealed session and sign-in cookies, PKCE, CSRF tokens.
- `flow`: what a Salesforce Account or Order becomes in Zuora (plans), and the pushes.
- `views`: the HTML pages.
- `store`: push records and the per-Account lock in DynamoDB.
- `service`: what the handler calls, one method per route.
- `http_errors`: the one mapping of exceptions to HTML pages.
"""

__all__ = ["cookies", "flow", "http_errors", "service", "store", "target", "views"]
