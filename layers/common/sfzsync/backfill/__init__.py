"""The backfill: link every Zuora account that has no valid CRM Account ID, with the checkout's matching rules.

One worker, two engines: `worker.link_batch` decides and applies a batch of accounts; `local` runs it over a whole
tenant from one process (`python -m sfzsync.backfill`, resumable, with a progress bar), `steps` are the steps of the
Step Functions state machine in `template.yaml` (Data Query job, its file in S3, a Distributed Map of batches, the
report).

- `models`: what is read (`AccountRow`), decided (`Plan`) and reported (`AccountResult`, `Outcome`, `CrmIdState`).
- `source`: the Data Query SQL and its CSV rows.
- `crm_ids`: what a crmId says before and after Salesforce is asked (15 → 18, deleted, merged into a master).
- `lookups`: the checkout's rules over many emails per query, few Composite calls per batch.
- `worker`, `writes`: deciding, then writing (Zuora's crmId read before it is written; `--create-missing`).
- `pacing`: rate limits slow the run down (Retry-After, `RateLimit-*`) instead of failing accounts.
- `report`: the CSV and the Markdown summary.
- `connect`, `local`, `progress`, `cli`: the local command; `steps`: the state machine's Lambda steps.
"""

__all__ = [
    "cli",
    "connect",
    "crm_ids",
    "local",
    "lookups",
    "models",
    "pacing",
    "progress",
    "report",
    "source",
    "steps",
    "worker",
    "writes",
]
