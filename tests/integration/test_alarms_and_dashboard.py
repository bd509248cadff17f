"""The alarms and the dashboard of template.yaml watch metrics the code emits, with the dimensions it emits them
with, and each alarm has its line in the README's runbook. The metrics are read from the EMF records the handlers
print while both flows run here: successes, a replay, a failure at each checkout stage, a paused allowance, pushes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml

from sandbox.api_gateway import LocalApiGateway
from sandbox.button_client import ButtonClient
from sandbox.core import Fault
from sandbox.demo_data import PASSWORD, REP, seed_button_data
from sandbox.invoke import checkout_event, invoke
from sandbox.stack import SIGNING_SECRET, Sandbox
from tests.integration.conftest import checkout_body

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "SfzSync"

# (metric, dimension names) pairs
Emitted = set[tuple[str, frozenset[str]]]


TEMPLATE: dict[str, Any] = load_cfn_yaml(str(ROOT / "template.yaml"))  # intrinsics in their long form
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ALARMS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def emf_metrics(output: str) -> Emitted:
    emitted: Emitted = set()
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            if directive["Namespace"] != NAMESPACE:
                continue
            for metric in directive["Metrics"]:
                for dimensions in directive["Dimensions"]:
                    emitted.add((metric["Name"], frozenset(dimensions)))
    return emitted


@pytest.fixture
def emitted(
    sandbox: Sandbox,
    checkout_app: ModuleType,
    button_api: LocalApiGateway,
    reconfigured: Callable[..., ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Emitted:
    """Every (metric, dimensions) the handlers emit in the scenarios above."""

    def checkout(handler: ModuleType, email: str, key: str) -> dict[str, Any]:
        """The event sent, so that it can be replayed."""
        event = checkout_event(
            checkout_body(email, paymentMethodId=sandbox.zuora.new_orphan_payment_method()), key, SIGNING_SECRET
        )
        invoke(handler, event)
        return event

    sandbox.salesforce.insert("Account", {"Name": "Known", "Website": "known-metrics.com"})
    first = checkout(checkout_app, "new@new-metrics.com", "m-new")
    checkout(checkout_app, "someone@known-metrics.com", "m-domain")
    assert invoke(checkout_app, first)["multiValueHeaders"]["Idempotent-Replayed"] == ["true"]
    faults = {
        "salesforce_lookup": (sandbox.salesforce, Fault(path="/composite$", match='"allOrNone": false', times=-1)),
        "salesforce_create": (sandbox.salesforce, Fault(path="/composite$", match='"allOrNone": true', times=-1)),
        "zuora_lookup": (sandbox.zuora, Fault(path="^/v1/payment-methods/", times=-1)),
        "zuora_order": (sandbox.zuora, Fault(path="^/v1/orders$", times=-1)),
    }
    for stage, (server, fault) in faults.items():
        server.add_fault(fault)
        checkout(checkout_app, f"fail@{stage.replace('_', '-')}-metrics.com", f"m-{stage}")
        server.clear_faults()
    monkeypatch.setenv("SALESFORCE_API_FLOOR_PERCENT", "50")
    sandbox.salesforce.set_api_usage(14_000, 15_000)
    paused = reconfigured()
    checkout(paused, "low@allowance-metrics.com", "m-low-1")
    checkout(paused, "low2@allowance-metrics.com", "m-low-2")
    data = seed_button_data(sandbox)
    client = ButtonClient(sandbox, button_api.url)
    sandbox.zuora.add_fault(Fault(path="^/v1/accounts$", status=500, times=-1))
    preview = client.open(client.button_url(accountId=data.account_id), username=REP, password=PASSWORD)
    failed = client.press_send(preview)
    assert failed.status_code >= 500, failed.status_code
    sandbox.zuora.clear_faults()
    client.press_send(client.open(client.button_url(orderId=data.order_id)))
    return emf_metrics(capsys.readouterr().out)


def _dimensions(alarm: dict[str, Any]) -> frozenset[str]:
    return frozenset(d["Name"] for d in alarm.get("Dimensions", []))


def test_every_alarm_on_this_service_s_metrics_watches_a_metric_the_code_emits_with_its_dimensions(
    emitted: Emitted,
) -> None:
    ours = {name: alarm for name, alarm in ALARMS.items() if alarm["Namespace"] == NAMESPACE}
    assert ours, "no alarm on the service's own metrics"
    missing = {name for name, a in ours.items() if (a["MetricName"], _dimensions(a)) not in emitted}
    assert missing == set(), f"alarms on metrics never emitted that way: {missing}; emitted: {sorted(emitted)}"


def test_every_dashboard_widget_names_only_metrics_the_code_emits(emitted: Emitted) -> None:
    source = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]
    body = json.loads(source["Fn::Sub"] if isinstance(source, dict) else source)
    names = {name for name, _ in emitted}
    named: set[str] = set()
    for widget in body["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if isinstance(metric[0], dict):  # a SEARCH expression
                named |= set(re.findall(r'MetricName="(\w+)"', metric[0]["expression"]))
            elif metric[0] == NAMESPACE:
                named.add(metric[1])
    assert named, "the dashboard shows none of the service's metrics"
    assert named - names == set(), f"the dashboard names metrics the code never emits: {named - names}"


def test_the_alarms_are_the_ones_the_readme_runbook_explains() -> None:
    readme = (ROOT / "README.md").read_text()
    runbook = readme[readme.index("### Alarms") :]
    first_cells = re.findall(r"^\| ([^|]+) \|", runbook, flags=re.MULTILINE)
    explained = {name for cell in first_cells for name in re.findall(r"`(\w+Alarm)`", cell)}
    assert explained == set(ALARMS)


def test_every_alarm_notifies_the_alarm_topic() -> None:
    for name, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
