"""Domain tests run the package's code without a handler: give it what a handler's environment gives it."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SfzSyncTests")
PARENT_LOGGER = Logger()  # the package's child loggers need their parent, as in a handler
