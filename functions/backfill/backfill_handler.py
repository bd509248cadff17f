"""The backfill state machine's Lambda steps (template.yaml, `BackfillStateMachine`): one handler per step, each a
thin Powertools wrapper around `sfzsync.backfill.steps`."""

import functools
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sfzsync.backfill.steps import BackfillReport, BackfillSteps
from sfzsync.gateways.transport import RESPONSE_MARGIN_SECONDS, invocation_scope
from sfzsync.observability import logger, metrics, tracer


@functools.cache
def _steps() -> BackfillSteps:
    """Built once per container, on the first call: the secret, the gateways (not for WriteReport, which has no
    access to the secret)."""
    return BackfillSteps.from_environment()


@functools.cache
def _report() -> BackfillReport:
    return BackfillReport.from_environment()


def _scope(context: LambdaContext) -> Any:
    """Every call inside ends before the function's timeout (the rest of a batch is left for Step Functions' Retry)."""
    return invocation_scope(context.get_remaining_time_in_millis() / 1000 - RESPONSE_MARGIN_SECONDS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def start_query(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with _scope(context):
        return _steps().start_query(event)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def check_query(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with _scope(context):
        return _steps().check_query(event)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def link_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with _scope(context):
        return _steps().link_batch(event)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def write_report(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with _scope(context):
        return _report().write_report(event)
