"""The backfill's state machine in template.yaml: its states and their flow, the Distributed Map (its CSV reader over
the query's file, its batching, its concurrency and tolerated failures from the template's parameters, its result
writer), and least privilege: the worker may read the secret, write under its bucket prefix and log to its own group;
the state machine may start its own child executions (and redrive them) and touch only its prefixes."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from sfzsync import errors
from tests.sam.test_template import as_list, function_property, resources_of_type
from tests.sam.test_template_audit import SAM_MANAGED_POLICIES, monkeypatch_module, transformed

__all__ = ["monkeypatch_module", "transformed"]  # fixtures of test_template_audit, used here too

ROOT = Path(__file__).resolve().parents[2]
STATE_MACHINE = "BackfillStateMachine"
WORKER = "BackfillLinkBatchFunction"


@pytest.fixture(scope="module")
def machine(template: Mapping[str, Any]) -> Mapping[str, Any]:
    found: Mapping[str, Any] = template["Resources"][STATE_MACHINE]["Properties"]
    return found


@pytest.fixture(scope="module")
def states(machine: Mapping[str, Any]) -> Mapping[str, Any]:
    found: Mapping[str, Any] = machine["Definition"]["States"]
    return found


def substituted(machine: Mapping[str, Any], text: str) -> Any:
    """What a `${Name}` placeholder of the definition becomes (its DefinitionSubstitutions entry)."""
    match = re.fullmatch(r"\$\{(\w+)\}", text)
    assert match, f"not a placeholder: {text}"
    return machine["DefinitionSubstitutions"][match.group(1)]


def test_the_states_run_query_poll_map_report_in_that_order(states: Mapping[str, Any]) -> None:
    flow = {
        name: (state["Type"], state.get("Next", "End" if state.get("End") else None)) for name, state in states.items()
    }
    assert flow == {
        "Configure": ("Pass", "StartQuery"),
        "StartQuery": ("Task", "WaitForQuery"),
        "WaitForQuery": ("Wait", "CheckQuery"),
        "CheckQuery": ("Task", "QueryDone"),
        "QueryDone": ("Choice", None),
        "QueryFailed": ("Fail", None),
        "LinkAccounts": ("Map", "WriteReport"),
        "WriteReport": ("Task", "End"),
    }
    assert states["QueryDone"]["Default"] == "WaitForQuery"  # the poll loop
    assert states["QueryDone"]["Choices"] == [
        {"Variable": "$.query.status", "StringEquals": "completed", "Next": "LinkAccounts"}
    ]
    assert states["CheckQuery"]["Catch"][0]["ErrorEquals"] == ["DataQueryFailedError"]
    assert states["CheckQuery"]["Catch"][0]["Next"] == "QueryFailed"


def test_the_map_is_distributed_over_the_query_s_csv_file_in_the_bucket(
    machine: Mapping[str, Any], states: Mapping[str, Any]
) -> None:
    mapped = states["LinkAccounts"]
    reader = mapped["ItemReader"]
    assert mapped["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert reader["Resource"] == "arn:aws:states:::s3:getObject"
    assert reader["ReaderConfig"] == {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}
    assert substituted(machine, reader["Parameters"]["Bucket"]) == {"Ref": "BackfillBucket"}
    assert reader["Parameters"]["Key.$"] == "$.query.result.key"  # what CheckQuery stored


@pytest.mark.parametrize(
    ("path_field", "limit", "parameter"),
    [
        ("MaxConcurrencyPath", "maxConcurrency", "BackfillMaxConcurrency"),
        ("ToleratedFailurePercentagePath", "toleratedFailurePercentage", "BackfillToleratedFailurePercentage"),
        ("ItemBatcher.MaxItemsPerBatchPath", "itemsPerBatch", "BackfillItemsPerBatch"),
    ],
)
def test_the_map_s_limits_are_the_template_s_parameters_made_numbers_again(
    machine: Mapping[str, Any], states: Mapping[str, Any], path_field: str, limit: str, parameter: str
) -> None:
    # Given: the map reads the limit from the state input, where Configure put it
    node: Any = states["LinkAccounts"]
    for part in path_field.split("."):
        node = node[part]
    configured = states["Configure"]["Parameters"]["limits"][f"{limit}.$"]
    # Then: Configure turns the substituted parameter into a number; the substitution is the parameter
    assert node == f"$.limits.{limit}"
    placeholder = re.fullmatch(r"States\.StringToJson\('(\$\{\w+\})'\)", configured)
    assert placeholder, configured
    assert substituted(machine, placeholder.group(1)) == {"Ref": parameter}


def test_batches_are_hundreds_of_accounts_under_the_payload_limit(template: Mapping[str, Any]) -> None:
    parameter = template["Parameters"]["BackfillItemsPerBatch"]
    batcher = template["Resources"][STATE_MACHINE]["Properties"]["Definition"]["States"]["LinkAccounts"]["ItemBatcher"]
    assert 100 <= parameter["Default"] <= parameter["MaxValue"] <= 500
    assert batcher["MaxInputBytesPerBatch"] <= 256 * 1024
    assert set(batcher["BatchInput"]) == {"runId.$", "dryRun.$", "createMissing.$"}


def test_results_are_written_to_the_bucket_and_the_report_reads_them(
    machine: Mapping[str, Any], states: Mapping[str, Any]
) -> None:
    writer = states["LinkAccounts"]["ResultWriter"]
    assert writer["Resource"] == "arn:aws:states:::s3:putObject"
    assert substituted(machine, writer["Parameters"]["Bucket"]) == {"Ref": "BackfillBucket"}
    assert writer["Parameters"]["Prefix"] == "results"
    assert states["LinkAccounts"]["ResultPath"] == "$.map"
    assert states["WriteReport"]["Parameters"]["Payload"]["map.$"] == "$.map"


def test_a_batch_left_incomplete_is_retried_later_and_longer_each_time(states: Mapping[str, Any]) -> None:
    worker = states["LinkAccounts"]["ItemProcessor"]["States"]["LinkBatch"]
    first = worker["Retry"][0]
    assert "BatchIncompleteError" in first["ErrorEquals"]
    assert first["IntervalSeconds"] >= 30 and first["BackoffRate"] > 1 and first["MaxAttempts"] >= 3


def test_every_error_the_definition_names_is_one_the_package_raises(states: Mapping[str, Any]) -> None:
    named = {
        error
        for state in [*states.values(), *states["LinkAccounts"]["ItemProcessor"]["States"].values()]
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]
        for error in rule["ErrorEquals"]
        if not error.startswith(("Lambda.", "States."))
    }
    assert named == {"UpstreamError", "DataQueryFailedError", "BatchIncompleteError"}
    assert all(isinstance(getattr(errors, name), type) for name in named)


def test_each_step_s_handler_is_a_function_of_the_backfill_handler_module(template: Mapping[str, Any]) -> None:
    module = ast.parse((ROOT / "functions" / "backfill" / "backfill_handler.py").read_text())
    defined = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    handlers = {
        name: function["Properties"]["Handler"]
        for name, function in resources_of_type(template, "AWS::Serverless::Function").items()
        if name.startswith("Backfill")
    }
    assert len(handlers) == 4
    assert {handler.split(".")[1] for handler in handlers.values()} <= defined


def test_each_task_invokes_the_function_it_names(machine: Mapping[str, Any], states: Mapping[str, Any]) -> None:
    tasks = {
        "StartQuery": "BackfillStartQueryFunction",
        "CheckQuery": "BackfillCheckQueryFunction",
        "WriteReport": "BackfillWriteReportFunction",
    }
    for state, function in tasks.items():
        assert substituted(machine, states[state]["Parameters"]["FunctionName"]) == {"Fn::GetAtt": [function, "Arn"]}
    worker = states["LinkAccounts"]["ItemProcessor"]["States"]["LinkBatch"]
    assert substituted(machine, worker["Parameters"]["FunctionName"]) == {"Fn::GetAtt": [WORKER, "Arn"]}


# --- least privilege, as deployed (after the SAM transform) ---------------------------------------------------------


def role_statements(transformed: Mapping[str, Any], role: str) -> list[Mapping[str, Any]]:
    policies = transformed["Resources"][role]["Properties"].get("Policies", [])
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def rendered(resource: Any) -> str:
    """A statement's resource as text (`Fn::Sub` strings, `Ref`/`GetAtt` named)."""
    if isinstance(resource, Mapping) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        if not isinstance(sub, list):
            return str(sub)
        text, variables = str(sub[0]), sub[1]
        for name, value in variables.items():
            text = text.replace(f"${{{name}}}", rendered(value))
        return text
    if isinstance(resource, Mapping) and "Ref" in resource:
        return f"${{{resource['Ref']}}}"
    if isinstance(resource, Mapping) and "Fn::GetAtt" in resource:
        return "${" + ".".join(resource["Fn::GetAtt"]) + "}"
    return str(resource)


def test_the_worker_may_read_the_secret_write_its_rows_prefix_and_log_to_its_own_group(
    template: Mapping[str, Any], transformed: Mapping[str, Any]
) -> None:
    # Given
    statements = role_statements(transformed, f"{WORKER}Role")
    grants = {
        (action, rendered(resource))
        for s in statements
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    role = transformed["Resources"][f"{WORKER}Role"]["Properties"]
    # Then
    assert grants == {
        ("secretsmanager:GetSecretValue", "${SecretArn}"),
        ("s3:PutObject", "${BackfillBucket.Arn}/rows/*"),
    }
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements)
    assert set(role.get("ManagedPolicyArns", [])) == SAM_MANAGED_POLICIES  # logs and X-Ray, as every function
    logging = function_property(template, template["Resources"][WORKER], "LoggingConfig")
    assert logging["LogGroup"] == {"Ref": "BackfillLinkBatchLogGroup"}


def test_the_state_machine_starts_and_redrives_only_its_own_executions_and_touches_only_its_prefixes(
    transformed: Mapping[str, Any],
) -> None:
    # Given
    statements = role_statements(transformed, f"{STATE_MACHINE}Role")
    grants = {
        (action, rendered(resource))
        for s in statements
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    machine_arn = (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-backfill"
    )
    executions = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-backfill/*"
    # Then
    assert ("states:StartExecution", machine_arn) in grants
    assert {("states:RedriveExecution", executions), ("states:DescribeExecution", executions)} <= grants
    assert ("s3:GetObject", "${BackfillBucket.Arn}/snapshots/*") in grants
    assert ("s3:PutObject", "${BackfillBucket.Arn}/results/*") in grants
    s3 = [resource for action, resource in grants if action.startswith("s3:")]
    assert all(resource.startswith("${BackfillBucket.Arn}/") for resource in s3)
    invoked = {resource.rsplit(":", 1)[1] for action, resource in grants if action == "lambda:InvokeFunction"}
    assert invoked == {  # each of the four functions (and its versions: SAM's policy template ends in *)
        "${BackfillStartQueryFunction}*",
        "${BackfillCheckQueryFunction}*",
        "${BackfillLinkBatchFunction}*",
        "${BackfillWriteReportFunction}*",
    }


def test_the_state_machine_is_named_as_its_own_policy_says(template: Mapping[str, Any]) -> None:
    assert template["Resources"][STATE_MACHINE]["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-backfill"}


def test_the_bucket_is_private_encrypted_and_refuses_plain_http(template: Mapping[str, Any]) -> None:
    bucket = template["Resources"]["BackfillBucket"]["Properties"]
    policy = template["Resources"]["BackfillBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in policy)
