"""Send to Zuora building blocks: button URL checks, sealed cookies, CSRF, plans, order bodies and escaping."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

import pytest

from sandbox.zuora_openapi import validate_request_body
from sfzsync.button import parse_target, render_account_preview, render_result
from sfzsync.config import SendToZuoraSettings
from sfzsync.salesforce_user import AccountRecord, Address, ContactRecord, OrderLine, OrderRecord
from sfzsync.send_to_zuora import ButtonInputError, PushOutcome, SendToZuoraFlow, order_body
from sfzsync.store import PushRecord
from sfzsync.web import CookieSealer, UserSession, new_pkce_pair
from sfzsync.zuora import ZuoraAccount

ALLOWED = ["acme.my.salesforce.com"]
KEY = "k" * 40


def _session(**changes: object) -> UserSession:
    base = UserSession(
        "sid-1",
        "005000000000001AAA",
        "00D000000000001AAA",
        "acme.my.salesforce.com",
        "token",
        "https://acme.my.salesforce.com",
        "Ann Admin",
        time.time() + 600,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- button URL ---------------------------------------------------------------------------------


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
    with pytest.raises(ButtonInputError):
        parse_target(params, ALLOWED)


# --- cookies, state, CSRF -------------------------------------------------------------------------


def test_sealed_session_opens_only_with_the_same_key_and_unchanged() -> None:
    sealer = CookieSealer(KEY)
    token = sealer.seal_session(_session())

    assert sealer.open_session(token) == _session(expires_at=sealer.open_session(token).expires_at)  # type: ignore[union-attr]
    assert CookieSealer("x" * 40).open_session(token) is None
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert sealer.open_session(tampered) is None
    assert "token" not in token


def test_expired_session_does_not_open() -> None:
    sealer = CookieSealer(KEY)
    assert sealer.open_session(sealer.seal_session(_session(expires_at=time.time() - 1))) is None


def test_a_login_cookie_cannot_be_replayed_as_a_session_cookie() -> None:
    sealer = CookieSealer(KEY)
    token = sealer.seal("sfz_oauth", {"expires_at": time.time() + 60})
    assert sealer.open_session(token) is None


def test_state_is_bound_to_the_deployment_key() -> None:
    sealer = CookieSealer(KEY)
    state = sealer.sign_state("nonce-1")
    assert sealer.state_nonce(state) == "nonce-1"
    assert CookieSealer("y" * 40).state_nonce(state) is None
    assert sealer.state_nonce("nonce-1.forged") is None


def test_csrf_token_is_bound_to_session_and_record() -> None:
    sealer = CookieSealer(KEY)
    token = sealer.csrf_token(_session(), "801000000000001AAA")
    assert sealer.csrf_valid(_session(), "801000000000001AAA", token)
    assert not sealer.csrf_valid(_session(), "801000000000002AAA", token)
    assert not sealer.csrf_valid(_session(session_id="sid-2"), "801000000000001AAA", token)
    assert not sealer.csrf_valid(_session(), "801000000000001AAA", None)


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    import base64
    import hashlib

    verifier, challenge = new_pkce_pair()
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == expected and 43 <= len(verifier) <= 128


# --- plans and bodies -----------------------------------------------------------------------------


class FakeZuora:
    def __init__(self, accounts: list[ZuoraAccount] | None = None) -> None:
        self.accounts = accounts or []

    def find_accounts_by_crm_id(self, crm_id: str) -> list[ZuoraAccount]:
        return self.accounts


class FakeStore:
    def get_push(self, org_id: str, order_id: str) -> PushRecord:
        return PushRecord()


ACCOUNT = AccountRecord(
    "001000000000001AAA",
    "Acme <Corp>",
    None,
    Address("1 Main St", "Springfield", "IL", "62701", "US"),
    ContactRecord("Ann", "Lee", "ann@acme.com", None),
)


def _line(**changes: object) -> OrderLine:
    base = OrderLine(
        "802000000000001AAA",
        "Platform",
        "8ad0rateplan01",
        "8ad0charge01",
        3.0,
        dt.date(2026, 12, 1),
        None,
        12,
        "Recurring",
        "Monthly",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _flow(accounts: list[ZuoraAccount] | None = None) -> SendToZuoraFlow:
    return SendToZuoraFlow(FakeZuora(accounts), FakeStore(), SendToZuoraSettings(), "00D000000000001AAA")  # type: ignore[arg-type]


def _order(*lines: OrderLine) -> OrderRecord:
    return OrderRecord(
        "801000000000001AAA", "00000100", ACCOUNT.account_id, dt.date(2026, 12, 1), "Activated", list(lines)
    )


def test_account_without_billing_country_or_contact_is_blocked_with_both_reasons() -> None:
    account = replace(ACCOUNT, billing=replace(ACCOUNT.billing, country=None), contact=None)
    problems = _flow().plan_account(account).problems
    assert any("Billing Country" in p for p in problems) and any("no Contact" in p for p in problems)


def test_order_plan_flags_unmapped_products_mixed_terms_and_quantities_without_a_charge() -> None:
    plan = _flow().plan_order(
        _order(
            _line(rate_plan_id=None, product_name="Widget"),
            _line(term_months=24),
            _line(charge_id=None, product_name="Seats"),
        ),
        ACCOUNT,
    )
    text = " ".join(plan.problems)
    assert 'Product "Widget" has no Zuora product rate plan' in text
    assert "different subscription terms (12, 24 months)" in text
    assert 'Product "Seats" is ordered 3 times' in text


@pytest.mark.parametrize("term", [12, None])
def test_order_body_validates_against_zuoras_published_schema(term: int | None) -> None:
    lines = (_line(term_months=term), _line(charge_type="One-Time", quantity=1.0, term_months=term))
    plan = _flow().plan_order(_order(*lines), ACCOUNT)
    body = order_body(plan, "A00000001")

    assert validate_request_body("POST", "/v1/orders", body) == []
    subscription = body["subscriptions"][0]["orderActions"][0]["createSubscription"]
    assert subscription["terms"]["initialTerm"]["termType"] == ("TERMED" if term else "EVERGREEN")
    assert subscription["subscribeToRatePlans"][0]["chargeOverrides"][0]["pricing"] == {
        "recurringPerUnit": {"quantity": 3}
    }


def test_existing_zuora_account_is_updated_not_created() -> None:
    plan = _flow([ZuoraAccount("id2", "A00000002", "EUR", "Active")]).plan_account(ACCOUNT)
    assert (plan.action, plan.currency) == ("update Zuora account A00000002", "EUR")
    assert (
        validate_request_body(
            "PUT", "/v1/accounts/{account-key}", {"name": ACCOUNT.name, "billToContact": plan.bill_to()}
        )
        == []
    )


# --- escaping -------------------------------------------------------------------------------------


def test_record_data_is_escaped_in_pages() -> None:
    account = replace(ACCOUNT, name="<script>alert(1)</script>")
    html = render_account_preview(_flow().plan_account(account), {"csrf": '"><script>x</script>'}, _session())
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '"><script>x' not in html
    result = render_result("<b>x</b>", PushOutcome("A<1>", "created"))
    assert "<b>x</b>" not in result and "A&lt;1&gt;" in result
