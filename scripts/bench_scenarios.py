"""The scenarios `scripts/bench.py` (`make bench`) measures: checkouts of new, matched, returning and replayed
customers, and Send to Zuora pushes of Accounts and Orders, each with the sandbox data it needs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox.demo_data import checkout_body as demo_checkout_body
from sandbox.invoke import api_event, checkout_event

RATE_PLAN = "8ad09be48db5aba7018db604776d4854"
RATE_PLAN_CHARGE = "8ad09be48db5aba7018db60477a54856"


def checkout_body(email: str, company: str | None, sandbox: Any, **order: Any) -> dict[str, Any]:
    """A checkout paid with a fresh card from the hosted payment page (a card pays one billing account only)."""
    card = sandbox.zuora.new_orphan_payment_method()
    return demo_checkout_body(email, company=company, first="Bench", last="Buyer", paymentMethodId=card, **order)


EventMaker = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    function: str
    prepare: Callable[[Any, int], list[EventMaker]]  # (sandbox, how many requests) -> one event maker per request
    expect_status: int = 201
    checkout: bool = True
    expect_text: str = ""  # in every answer's body
    replayed: bool = False  # the measured answers are idempotent replays


def _signed(body: dict[str, Any], key: str | None = None) -> EventMaker:
    from sandbox.stack import SIGNING_SECRET

    key = key or f"bench-{uuid.uuid4()}"
    return lambda: checkout_event(body, key, SIGNING_SECRET)


def _new_customers(sandbox: Any, count: int) -> list[EventMaker]:
    tag = uuid.uuid4().hex[:8]
    return [_signed(checkout_body(f"buyer@new-{tag}-{i}.com", f"Newco {tag} {i}", sandbox)) for i in range(count)]


def _contact_matches(sandbox: Any, count: int) -> list[EventMaker]:
    sf, tag, makers = sandbox.salesforce, uuid.uuid4().hex[:8], []
    for i in range(count):
        email = f"known.buyer@contact-{tag}-{i}.com"
        account = sf.insert("Account", {"Name": f"Contact Co {tag} {i}"})
        sf.insert("Contact", {"AccountId": account, "FirstName": "Known", "LastName": "Buyer", "Email": email})
        makers.append(_signed(checkout_body(email.upper(), f"Contact Co {tag} {i}", sandbox)))
    return makers


def _domain_matches(sandbox: Any, count: int) -> list[EventMaker]:
    sf, tag, makers = sandbox.salesforce, uuid.uuid4().hex[:8], []
    for i in range(count):
        sf.insert("Account", {"Name": f"Domain Co {tag} {i}", "Website": f"https://www.domain-{tag}-{i}.com/about"})
        makers.append(_signed(checkout_body(f"someone.new@mail.domain-{tag}-{i}.com", f"Domain Co {tag} {i}", sandbox)))
    return makers


def _returning(sandbox: Any, count: int) -> list[EventMaker]:
    sf, tag, makers = sandbox.salesforce, uuid.uuid4().hex[:8], []
    for i in range(count):
        email = f"returning@zuora-{tag}-{i}.com"
        account = sf.insert("Account", {"Name": f"Returning Co {tag} {i}"})
        sf.insert("Contact", {"AccountId": account, "FirstName": "Re", "LastName": "Turning", "Email": email})
        number = sandbox.zuora.seed_account(name=f"Returning Co {tag} {i}", currency="USD", crm_id=account)
        makers.append(_signed(checkout_body(email, f"Returning Co {tag} {i}", sandbox, zuoraAccountNumber=number)))
    return makers


def _replays(sandbox: Any, count: int) -> list[EventMaker]:
    """The first event completes a checkout (a warm-up); every later one repeats its key and body."""
    key = f"bench-replay-{uuid.uuid4()}"
    body = checkout_body(f"replay@replay-{key[-8:]}.com", "Replay Co", sandbox)
    return [_signed(body, key) for _ in range(count)]


@dataclass(frozen=True)
class ButtonUser:
    session_cookie: str
    sealer: Any
    session: Any
    domain: str


def _button_user(sandbox: Any) -> ButtonUser:
    """A signed-in sales rep, as the button's OAuth callback would leave them (a sealed session cookie)."""
    from sfzsync.ids import to_18
    from sfzsync.send_to_zuora.cookies import SESSION_COOKIE, CookieSealer, UserSession

    sf = sandbox.salesforce
    user_id = sf.add_user(f"rep-{uuid.uuid4().hex[:8]}@bench.example", "bench-password-1", name="Bench Rep")
    domain = f"127.0.0.1:{sf.port}"
    session = UserSession(
        uuid.uuid4().hex,
        user_id,
        to_18(sf.org_id),
        domain,
        sf.issue_token(user_id),
        sf.url,
        "Bench Rep",
        time.time() + 3600,
    )
    sealer = CookieSealer(sandbox.secret_document()["sendToZuora"]["sessionKey"])
    return ButtonUser(f"{SESSION_COOKIE}={sealer.seal_session(session)}", sealer, session, domain)


def _push_event(user: ButtonUser, param: str, record_id: str) -> EventMaker:
    form = {"sfdc": user.domain, param: record_id, "csrf": user.sealer.csrf_token(user.session, record_id)}
    host = "local.execute-api.us-east-1.amazonaws.com"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": user.session_cookie,
        "Origin": f"https://{host}",
    }
    return lambda: api_event("POST", "/sfdccpq", urlencode(form), headers)


def _seed_button_account(sandbox: Any, owner: str, tag: str, i: int) -> str:
    sf = sandbox.salesforce
    account = sf.insert(
        "Account",
        {
            "Name": f"Push Co {tag} {i}",
            "BillingStreet": "1 Push St",
            "BillingCity": "Gotham",
            "BillingState": "NJ",
            "BillingPostalCode": "07001",
            "BillingCountry": "US",
        },
        owner_id=owner,
    )
    sf.insert(
        "Contact",
        {"AccountId": account, "FirstName": "Pat", "LastName": "Pusher", "Email": f"pat@push-{tag}-{i}.com"},
        owner_id=owner,
    )
    return str(account)


def _account_pushes(sandbox: Any, count: int) -> list[EventMaker]:
    user, tag = _button_user(sandbox), uuid.uuid4().hex[:8]
    owner = user.session.user_id
    return [_push_event(user, "accountId", _seed_button_account(sandbox, owner, tag, i)) for i in range(count)]


def _order_pushes(sandbox: Any, count: int) -> list[EventMaker]:
    sf, user, tag = sandbox.salesforce, _button_user(sandbox), uuid.uuid4().hex[:8]
    owner = user.session.user_id
    product = sf.insert(
        "Product2",
        {
            "Name": "Analytics Platform",
            "ProductCode": f"PLAT-{tag}",
            "Zuora_Product_Rate_Plan_Id__c": RATE_PLAN,
            "Zuora_Product_Rate_Plan_Charge_Id__c": RATE_PLAN_CHARGE,
        },
    )
    makers = []
    for i in range(count):
        account = _seed_button_account(sandbox, owner, tag, i)
        order = sf.insert(
            "Order", {"AccountId": account, "EffectiveDate": "2026-12-01", "Status": "Activated"}, owner_id=owner
        )
        sf.insert(
            "OrderItem",
            {
                "OrderId": order,
                "Product2Id": product,
                "Quantity": 5,
                "UnitPrice": 10,
                "ServiceDate": "2026-12-01",
                "SBQQ__SubscriptionTerm__c": 12,
                "SBQQ__ChargeType__c": "Recurring",
                "SBQQ__BillingFrequency__c": "Monthly",
            },
        )
        makers.append(_push_event(user, "orderId", order))
    return makers


SCENARIOS = [
    Scenario("new-customer", "New customer (Account + Contact created)", "checkout", _new_customers),
    Scenario("contact-email", "Contact email match", "checkout", _contact_matches),
    Scenario("domain", "Company domain match", "checkout", _domain_matches),
    Scenario(
        "returning", "Returning customer naming their billing account (contact match, linked)", "checkout", _returning
    ),
    Scenario("replay", "Idempotent replay (same key and body)", "checkout", _replays, replayed=True),
    Scenario(
        "account-push", "Send to Zuora: Account push", "send_to_zuora", _account_pushes, 200, False, 'outcome="sent"'
    ),
    Scenario("order-push", "Send to Zuora: Order push", "send_to_zuora", _order_pushes, 200, False, 'outcome="sent"'),
]
