"""Each external system behind one small interface (a Protocol) that tests swap for a fake.

- `transport`: the HTTP session (timeouts inside the invocation's deadline), backoff, and the one translation
  of a failed call into `UpstreamError`.
- `salesforce`: Salesforce as the integration user (OAuth client credentials or JWT bearer; Composite calls).
- `salesforce_user`: Salesforce as the person who pressed the button (OAuth web-server flow with PKCE), with
  `cpq_queries` (the SOQL it runs) and `salesforce_records` (what it reads: Account, CPQ Order, access).
- `zuora`: Zuora (OAuth, Zuora-Version, success:false, retries, catalog, accounts, payment methods, orders), with
  `zuora_subscriptions` (subscriptions, their versions and rate plans) and `zuora_data_query` (Data Query jobs and
  their result files, for the backfill).
- `dynamodb`: the DynamoDB client and the lease-based `RecordLock`.
- `s3`: the backfill's bucket (its snapshots, rows and reports).
"""

__all__ = [
    "cpq_queries",
    "dynamodb",
    "s3",
    "salesforce",
    "salesforce_records",
    "salesforce_user",
    "transport",
    "zuora",
    "zuora_data_query",
    "zuora_subscriptions",
]
