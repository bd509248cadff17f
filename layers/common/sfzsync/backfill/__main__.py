"""`python -m sfzsync.backfill`: the local command (`sfzsync.backfill.cli`)."""

import os

# As in a deployed function, Powertools' settings are in the environment before the package builds its Metrics.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "backfill")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SfzSync")

from sfzsync.backfill.cli import main

raise SystemExit(main())
