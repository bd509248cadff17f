"""Logger, Tracer and Metrics, built once: every module of the package and both handlers use these three.

One Logger (no child loggers: a child that changes state before its parent exists is a known Powertools pitfall),
its service name from `POWERTOOLS_SERVICE_NAME`, as each function's environment sets it.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def count(name: str, **dimensions: str) -> None:
    """Add 1 to a metric; with `dimensions`, as its own EMF record (e.g. `count("CustomerMatched", rule=...)`)."""
    if not dimensions:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        return
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)
