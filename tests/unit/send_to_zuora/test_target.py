"""The button URL: which org domains and record Ids the button serves."""

from __future__ import annotations

import pytest

from sfzsync.errors import ButtonLinkError
from sfzsync.send_to_zuora.target import parse_target
from tests.unit.send_to_zuora.fakes import ALLOWED


def test_15_char_account_id_is_normalised_to_18() -> None:
    target = parse_target({"sfdc": "ACME.my.salesforce.com", "accountId": "001A0000006Vm9r"}, ALLOWED)
    assert (target.domain, target.param, target.record_id) == (
        "acme.my.salesforce.com",
        "accountId",
        "001A0000006Vm9rIAC",
    )


@pytest.mark.parametrize(
    "params",
    [
        {"sfdc": "evil.example.com", "accountId": "001A0000006Vm9r"},
        {"sfdc": "acme.my.salesforce.com.evil.com", "accountId": "001A0000006Vm9r"},
        {"accountId": "001A0000006Vm9r"},
        {"sfdc": "acme.my.salesforce.com"},
        {"sfdc": "acme.my.salesforce.com", "accountId": "001A0000006Vm9r", "orderId": "801A0000006Vm9r"},
        {"sfdc": "acme.my.salesforce.com", "accountId": "801A0000006Vm9r"},
        {"sfdc": "acme.my.salesforce.com", "orderId": "001A0000006Vm9r"},
        {"sfdc": "acme.my.salesforce.com", "accountId": "001A0000006Vm9rAAA"},
        {"sfdc": "acme.my.salesforce.com", "accountId": "001'; DROP"},
    ],
)
def test_button_urls_outside_the_contract_are_refused(params: dict[str, str]) -> None:
    with pytest.raises(ButtonLinkError):
        parse_target(params, ALLOWED)
