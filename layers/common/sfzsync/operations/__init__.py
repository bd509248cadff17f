"""Operating the service: what an on-call engineer lists, checks and trusts.

- `ledger`: the failure ledger, one record per checkout or push that ended in an error (never a body or a card).
- `cli`: `python -m sfzsync.operations ops|doctor` (`make ops`, `make doctor`).
- `doctor`: read-only checks of a deployment's secret against the live Salesforce and Zuora.
"""

__all__ = ["cli", "doctor", "ledger"]
