"""template.yaml: it validates and lints, builds an arm64-only layer, and keeps the security defaults."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Iterator, Mapping
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest

from tests.sam.conftest import BuiltApp

pytestmark = pytest.mark.timeout(900)

ELF_MAGIC = b"\x7fELF"
EM_X86_64 = 0x3E
EM_AARCH64 = 0xB7
API_GATEWAY_TIMEOUT_SECONDS = 29
FUNCTION = "AWS::Serverless::Function"


# --- helpers ---------------------------------------------------------------------------------------


def elf_machine(path: Path) -> int | None:
    """ELF e_machine of a file, or None when the file is not ELF."""
    with path.open("rb") as file:
        header = file.read(20)
    if len(header) < 20 or not header.startswith(ELF_MAGIC):
        return None
    byte_order = "<" if header[5] == 1 else ">"  # EI_DATA: 1 little-endian, 2 big-endian
    machine: int = struct.unpack_from(f"{byte_order}H", header, 18)[0]
    return machine


def elf_files(root: Path) -> dict[Path, int]:
    machines = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            machine = elf_machine(path)
            if machine is not None:
                machines[path.relative_to(root)] = machine
    return machines


def wheel_metadata(layer_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Name of each installed distribution -> its WHEEL file's (Root-Is-Purelib, Tag) pairs."""
    wheels = {}
    for wheel in layer_dir.glob("python/*.dist-info/WHEEL"):
        headers = HeaderParser().parsestr(wheel.read_text())
        wheels[wheel.parent.name] = [(headers.get("Root-Is-Purelib", ""), tag) for tag in headers.get_all("Tag", [])]
    return wheels


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, Mapping[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == resource_type}


def function_property(template: Mapping[str, Any], function: Mapping[str, Any], name: str) -> Any:
    """A function's property after SAM Globals: maps merge (function wins), anything else is overridden."""
    default = template.get("Globals", {}).get("Function", {}).get(name)
    own = function.get("Properties", {}).get(name)
    if isinstance(default, Mapping) and isinstance(own, Mapping):
        return {**default, **own}
    return own if own is not None else default


def function_environment(template: Mapping[str, Any], function: Mapping[str, Any]) -> dict[str, Any]:
    default = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = function.get("Properties", {}).get("Environment", {}).get("Variables", {})
    return {**default, **own}


def iam_statements(template: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(resource name, statement) for every inline IAM statement in the template, SAM function policies included."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == FUNCTION:
            policies = properties.get("Policies", [])
            for policy in policies if isinstance(policies, list) else [policies]:
                if isinstance(policy, Mapping) and "Statement" in policy:
                    yield from ((name, statement) for statement in policy["Statement"])
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                yield from ((name, statement) for statement in policy["PolicyDocument"]["Statement"])
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield from ((name, statement) for statement in properties["PolicyDocument"]["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def is_wildcard_resource(resource: Any) -> bool:
    if isinstance(resource, str):
        return resource == "*"
    if isinstance(resource, Mapping) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return bool((sub[0] if isinstance(sub, list) else sub) == "*")
    return False


# --- SAM CLI and cfn-lint -------------------------------------------------------------------------


def test_given_template_when_sam_validate_lint_then_it_is_valid(
    sam_cli: Path, sam_env: dict[str, str], template_path: Path
) -> None:
    result = subprocess.run(
        [str(sam_cli), "validate", "--lint", "--template-file", str(template_path)],
        cwd=template_path.parent,
        env=sam_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


def test_given_template_when_cfn_lint_then_no_finding(
    cfn_lint_cli: Path, sam_env: dict[str, str], template_path: Path
) -> None:
    result = subprocess.run(
        [str(cfn_lint_cli), str(template_path)],
        cwd=template_path.parent,
        env=sam_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


# --- sam build --------------------------------------------------------------------------------------


def test_given_sam_build_when_layer_is_inspected_then_package_is_under_python_folder(built_app: BuiltApp) -> None:
    layer = built_app.artifact("CommonLayer")

    assert (layer / "python" / "sfzsync" / "__init__.py").is_file()


def test_given_sam_build_when_layer_is_inspected_then_it_holds_no_x86_64_binary(built_app: BuiltApp) -> None:
    machines = elf_files(built_app.artifact("CommonLayer"))

    x86_64 = sorted(str(path) for path, machine in machines.items() if machine == EM_X86_64)
    assert x86_64 == []


def test_given_sam_build_when_layer_is_inspected_then_every_binary_is_aarch64(built_app: BuiltApp) -> None:
    machines = elf_files(built_app.artifact("CommonLayer"))

    other = sorted(f"{path} (e_machine {machine:#x})" for path, machine in machines.items() if machine != EM_AARCH64)
    assert other == []


def test_given_compiled_dependencies_when_layer_is_built_then_it_holds_aarch64_shared_objects(
    built_app: BuiltApp,
) -> None:
    layer = built_app.artifact("CommonLayer")
    compiled = [name for name, tags in wheel_metadata(layer).items() if any(pure == "false" for pure, _ in tags)]

    aarch64_objects = [path for path, machine in elf_files(layer).items() if machine == EM_AARCH64]

    assert not compiled or aarch64_objects, f"compiled dependencies {compiled} brought no aarch64 shared object"


def test_given_sam_build_when_wheel_tags_are_read_then_platform_wheels_are_for_aarch64(built_app: BuiltApp) -> None:
    wheels = wheel_metadata(built_app.artifact("CommonLayer"))

    not_arm = sorted(
        f"{name}: {tag}" for name, tags in wheels.items() for _, tag in tags if tag.endswith(("x86_64", "i686"))
    )
    assert not_arm == []


def test_given_sam_build_when_function_is_built_then_it_has_its_own_folder(built_app: BuiltApp) -> None:
    assert built_app.artifact("CheckoutFunction").is_dir()
    assert built_app.template.is_file()


# --- template audit ---------------------------------------------------------------------------------


def test_given_template_when_function_policies_are_read_then_all_are_scoped_statements_or_policy_templates(
    template: Mapping[str, Any],
) -> None:
    unscoped: list[tuple[str, Any]] = []
    for name, function in resources_of_type(template, FUNCTION).items():
        for policy in as_list(function["Properties"].get("Policies", [])):
            if isinstance(policy, str):  # an AWS managed policy, not scoped to this stack's resources
                unscoped.append((name, policy))
            elif "Statement" not in policy and any("*" in str(arguments) for arguments in policy.values()):
                unscoped.append((name, dict(policy)))

    assert unscoped == []


def test_given_template_when_table_is_read_then_it_is_encrypted_with_kms(template: Mapping[str, Any]) -> None:
    table = template["Resources"]["IdempotencyTable"]["Properties"]

    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}


def test_given_template_when_table_is_read_then_point_in_time_recovery_is_on(template: Mapping[str, Any]) -> None:
    table = template["Resources"]["IdempotencyTable"]["Properties"]

    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_given_template_when_table_is_read_then_items_expire_on_expiration_attribute(
    template: Mapping[str, Any],
) -> None:
    table = template["Resources"]["IdempotencyTable"]["Properties"]

    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_given_template_when_table_is_read_then_it_survives_stack_deletion(template: Mapping[str, Any]) -> None:
    table = template["Resources"]["IdempotencyTable"]

    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_given_template_when_functions_are_read_then_each_logs_to_its_own_log_group(
    template: Mapping[str, Any],
) -> None:
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    functions = resources_of_type(template, FUNCTION)

    targets = {
        name: (function_property(template, function, "LoggingConfig") or {}).get("LogGroup")
        for name, function in functions.items()
    }
    refs = {name: target.get("Ref") if isinstance(target, Mapping) else None for name, target in targets.items()}

    assert functions
    assert all(ref in log_groups for ref in refs.values()), refs
    assert len(set(refs.values())) == len(functions), refs


def test_given_template_when_log_groups_are_read_then_each_has_a_retention(template: Mapping[str, Any]) -> None:
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")

    without_retention = [name for name, group in log_groups.items() if "RetentionInDays" not in group["Properties"]]
    assert log_groups
    assert without_retention == []


def test_given_template_when_functions_are_read_then_they_run_python313_on_arm64(
    template: Mapping[str, Any],
) -> None:
    platforms = {
        name: (
            function_property(template, function, "Runtime"),
            *function_property(template, function, "Architectures"),
        )
        for name, function in resources_of_type(template, FUNCTION).items()
    }

    assert set(platforms.values()) == {("python3.13", "arm64")}, platforms


def test_given_template_when_api_functions_are_read_then_they_time_out_before_api_gateway(
    template: Mapping[str, Any],
) -> None:
    # Only what API Gateway invokes has its 29 s to beat (the backfill's steps run under Step Functions).
    timeouts = {
        name: function_property(template, function, "Timeout")
        for name, function in resources_of_type(template, FUNCTION).items()
        if any(event["Type"] == "Api" for event in function["Properties"].get("Events", {}).values())
    }

    assert {"CheckoutFunction", "SendToZuoraFunction"} <= timeouts.keys()
    assert all(timeout < API_GATEWAY_TIMEOUT_SECONDS for timeout in timeouts.values()), timeouts


def test_given_template_when_functions_are_read_then_active_tracing_is_on(template: Mapping[str, Any]) -> None:
    tracing = {
        name: function_property(template, function, "Tracing")
        for name, function in resources_of_type(template, FUNCTION).items()
    }

    assert set(tracing.values()) == {"Active"}, tracing


def test_given_template_when_functions_are_read_then_each_gets_the_configuration_environment(
    template: Mapping[str, Any],
) -> None:
    required = {"SECRET_ID", "IDEMPOTENCY_TABLE", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}

    missing = {
        name: required - function_environment(template, function).keys()
        for name, function in resources_of_type(template, FUNCTION).items()
    }

    assert all(not names for names in missing.values()), missing


def test_given_template_when_api_events_are_read_then_routes_are_explicit(template: Mapping[str, Any]) -> None:
    paths = [
        event["Properties"]["Path"]
        for function in resources_of_type(template, FUNCTION).values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    ]

    assert "/orders" in paths
    assert not [path for path in paths if "{proxy+}" in path or "*" in path]


def test_given_template_when_layer_is_read_then_sam_builds_it_for_arm64(template: Mapping[str, Any]) -> None:
    layer = template["Resources"]["CommonLayer"]

    # layers/common/Makefile installs arm64 (manylinux2014_aarch64) wheels and slims them (slim_layer.py).
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    makefile = (Path(__file__).resolve().parents[2] / layer["Properties"]["ContentUri"] / "Makefile").read_text()
    assert "build-CommonLayer:" in makefile
    assert "--platform manylinux2014_aarch64" in makefile
