"""The Salesforce org and Zuora tenant that the sample events in events/ meet (demo and tests)."""

from __future__ import annotations

import datetime as dt

from .stack import Sandbox


def seed_demo_data(sandbox: Sandbox) -> None:
    """The Salesforce org and Zuora tenant the sample events meet."""
    sf = sandbox.salesforce
    old = dt.datetime(2019, 3, 1, tzinfo=dt.UTC)
    globex = sf.insert("Account", {"Name": "Globex Corporation", "Website": "https://globex.com"}, created_date=old)
    sf.insert(
        "Contact", {"AccountId": globex, "FirstName": "Maria", "LastName": "Garcia", "Email": "maria.garcia@globex.com"}
    )
    sf.insert("Account", {"Name": "Initech UK", "Website": "https://www.initech.co.uk/about"}, created_date=old)
    sf.insert(
        "Account",
        {"Name": "Initech (newer duplicate)", "Website": "initech.co.uk"},
        created_date=dt.datetime(2024, 6, 1, tzinfo=dt.UTC),
    )
    sf.insert("Account", {"Name": "Gmail Fan Club", "Website": "https://gmail.com"}, created_date=old)
    umbrella = sf.insert("Account", {"Name": "Umbrella Corporation", "Website": "umbrella-corp.com"}, created_date=old)
    sf.insert(
        "Contact",
        {"AccountId": umbrella, "FirstName": "Alice", "LastName": "Abernathy", "Email": "alice@umbrella-corp.com"},
    )
    sandbox.zuora.seed_account(name="Umbrella Corporation", currency="USD", crm_id=umbrella)


EXPECTED_MATCHES = {
    "checkout-new-customer": "created",
    "checkout-existing-contact": "contact_email",
    "checkout-company-domain": "account_domain",
    "checkout-free-mail": "created",
    "checkout-returning-zuora-customer": "contact_email",
}
