"""Each external system behind one small interface (a Protocol) that tests swap for a fake.

- `transport`: the HTTP session (timeouts inside the invocation's deadline), backoff, and the one translation
  of a failed call into `UpstreamError`.
- `salesforce`: Salesforce as the integration user (OAuth client credentials or JWT bearer; Composite calls).
- `salesforce_user`: Salesforce as the person who pressed the button (OAuth web-server flow with PKCE).
- `zuora`: Zuora (OAuth, Zuora-Version, success:false, retries, catalog, accounts, payment methods, orders).
- `dynamodb`: the DynamoDB client and the lease-based `RecordLock`.
"""

__all__ = ["dynamodb", "salesforce", "salesforce_user", "transport", "zuora"]
