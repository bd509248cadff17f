"""template.yaml audited as written and as deployed: neither it nor the SAM-transformed template (the roles SAM
generates included) grants a wildcard, every function logs to its own retained log group, and checkov finds nothing
it was not told why."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from tests.sam.conftest import PROJECT_ROOT
from tests.sam.test_template import as_list, iam_statements, is_wildcard_resource, resources_of_type

CHECKOV = PROJECT_ROOT / ".cache" / "checkov" / "bin" / "checkov"
# What SAM attaches to every function role it generates (logs; X-Ray, whose actions take no resource ARN).
SAM_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


class _NoManagedPolicyLookup:
    """SAM looks managed policy names up in IAM; the template names none, so nothing is asked."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def transformed(template: Mapping[str, Any], monkeypatch_module: pytest.MonkeyPatch) -> dict[str, Any]:
    """The template after the AWS::Serverless-2016-10-31 transform, computed offline (local code URIs replaced)."""
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    source = json.loads(json.dumps(template))
    for name, resource in source["Resources"].items():
        properties = resource.get("Properties", {})
        # What AWS::LanguageExtensions does first in CloudFormation, with the SnapStart parameter at its default.
        for key in ("AutoPublishAlias", "SnapStart"):
            if isinstance(properties.get(key), dict) and properties[key].get("Fn::If", [None])[0] == "SnapStartOn":
                del properties[key]
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://sam-artifacts/{name}"
    result: dict[str, Any] = transform(source, {}, _NoManagedPolicyLookup())
    return result


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(params=["template", "transformed"])
def audited(request: pytest.FixtureRequest) -> Mapping[str, Any]:
    """Each test using it runs twice: on template.yaml as written, and on the SAM-transformed template."""
    found: Mapping[str, Any] = request.getfixturevalue(request.param)
    return found


# --- IAM, as written and as deployed ---------------------------------------------------------------


def test_given_template_when_iam_statements_are_read_then_no_action_is_a_wildcard(
    audited: Mapping[str, Any],
) -> None:
    statements = list(iam_statements(audited))

    wildcard = [
        (name, action)
        for name, statement in statements
        for action in as_list(statement.get("Action", []))
        if isinstance(action, str) and "*" in action
    ]
    assert statements
    assert wildcard == []


def test_given_template_when_iam_statements_are_read_then_no_resource_is_a_wildcard(
    audited: Mapping[str, Any],
) -> None:
    wildcard = [
        (name, resource)
        for name, statement in iam_statements(audited)
        for resource in as_list(statement.get("Resource", []))
        if is_wildcard_resource(resource)
    ]

    assert wildcard == []


# --- IAM, as deployed ------------------------------------------------------------------------------


def test_given_transformed_template_when_roles_are_read_then_sam_generated_one_per_function(
    transformed: Mapping[str, Any],
) -> None:
    functions = resources_of_type(transformed, "AWS::Lambda::Function")
    roles = resources_of_type(transformed, "AWS::IAM::Role")

    assert {f"{name}Role" for name in functions} <= roles.keys()


def test_given_transformed_template_when_iam_statements_are_read_then_none_uses_not_action_or_not_resource(
    transformed: Mapping[str, Any],
) -> None:
    inverted = [
        (name, key)
        for name, statement in iam_statements(transformed)
        for key in ("NotAction", "NotResource")
        if key in statement
    ]

    assert inverted == []


def test_given_transformed_template_when_roles_are_read_then_only_sams_own_managed_policies_are_attached(
    transformed: Mapping[str, Any],
) -> None:
    attached = {
        name: set(role["Properties"].get("ManagedPolicyArns", []))
        for name, role in resources_of_type(transformed, "AWS::IAM::Role").items()
        if name.endswith("FunctionRole")
    }

    assert attached
    assert all(policies == SAM_MANAGED_POLICIES for policies in attached.values()), attached


# --- logs, as deployed ---------------------------------------------------------------------------


def test_given_transformed_template_when_functions_are_read_then_each_logs_to_a_retained_group_of_its_own(
    transformed: Mapping[str, Any],
) -> None:
    log_groups = resources_of_type(transformed, "AWS::Logs::LogGroup")

    targets = {
        name: function["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        for name, function in resources_of_type(transformed, "AWS::Lambda::Function").items()
    }

    assert targets
    assert all(target in log_groups for target in targets.values()), targets
    assert len(set(targets.values())) == len(targets), targets
    assert all("RetentionInDays" in log_groups[target]["Properties"] for target in targets.values())


# --- checkov ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov_report(template_path: Path, sam_env: dict[str, str]) -> dict[str, Any]:
    """checkov's CloudFormation checks on template.yaml, offline (its own virtualenv: `make setup`)."""
    if not CHECKOV.is_file():
        pytest.fail(f"{CHECKOV} is missing: run `make setup` (checkov lives in its own virtualenv)")
    result = subprocess.run(
        [str(CHECKOV), "--file", str(template_path), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        cwd=template_path.parent,
        env=sam_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report = json.loads(result.stdout)
    found: dict[str, Any] = report[0] if isinstance(report, list) else report
    return found


def test_given_template_when_checkov_scans_it_then_no_check_fails(checkov_report: Mapping[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]

    assert checkov_report["summary"]["parsing_errors"] == 0
    assert checkov_report["summary"]["resource_count"] > 0
    assert failed == []


def test_given_template_when_checkov_skips_a_check_then_the_template_says_why(
    checkov_report: Mapping[str, Any],
) -> None:
    skipped = checkov_report["results"]["skipped_checks"]

    unexplained = [
        f"{check['check_id']} {check['resource']}"
        for check in skipped
        if len(check["check_result"].get("suppress_comment") or "") < 40
    ]
    assert unexplained == []
