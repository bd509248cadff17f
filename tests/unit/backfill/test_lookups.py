"""Batched lookups (`sfzsync.backfill.lookups`): the checkout's rules over many emails per query give exactly the
checkout's answer for each email, in few Composite calls that respect Salesforce's limits."""

from __future__ import annotations

import datetime as dt

import pytest

from sandbox.salesforce import SalesforceSim
from sfzsync.backfill.lookups import BATCH_RULES, MAX_URL_CHARACTERS, BatchLookup, url_length
from sfzsync.backfill.models import CrmIdState
from sfzsync.errors import UpstreamError
from sfzsync.matching import MATCH_RULES, CustomerEmail, choose_account, lookup_queries, normalise_email
from tests.unit.backfill.fakes import FakeSalesforce, no_wait

RULES = ("contact_email", "account_domain")
OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def seeded_org(domain_field: str | None = None) -> SalesforceSim:
    """Emails and domains a checkout could meet, with several candidates, letter case, look-alikes and IDNs."""
    sim = SalesforceSim()
    if domain_field:
        sim.add_field("Account", domain_field)

    def account(name: str, website: str | None = None, created: dt.datetime | None = None) -> str:
        fields = {"Name": name, **({"Website": website} if website else {})}
        if domain_field and website:
            fields[domain_field] = website.split("//")[-1].split("/")[0].removeprefix("www.")
        return sim.insert("Account", fields, created_date=created)

    acme_new, acme_old = account("Acme EU"), account("Acme", created=OLD)
    for owner in (acme_new, acme_old):
        sim.insert("Contact", {"LastName": "Doe", "Email": "jane@acme.example", "AccountId": owner})
    sim.insert("Contact", {"LastName": "Roe", "Email": "MARIA@Globex.example", "AccountId": account("Globex")})
    sim.insert("Contact", {"LastName": "Loose", "Email": "loose@nowhere.example"})  # no Account: never a candidate
    account("Initech", "https://www.initech.example/about")
    account("Not Initech", "https://notinitech.example")
    account("Strasse", "https://xn--strae-oqa.de")
    account("Umbrella", "umbrella.co.uk", created=OLD)
    account("Umbrella UK", "https://www.umbrella.co.uk")
    return sim


EMAILS = [
    "jane@acme.example",
    "maria@globex.example",
    "loose@nowhere.example",
    "bob@initech.example",
    "eve@mail.notinitech.example",
    "jo@straße.de",
    "sales@shop.umbrella.co.uk",
    "someone@gmail.com",
    "nobody@unknown.example",
]


def checkout_answer(sim: SalesforceSim, email: CustomerEmail, domain_field: str | None) -> tuple[str, str, list[str]]:
    """What the checkout decides for one email: its own queries, one per rule, then `choose_account`."""
    queries = lookup_queries(email, RULES, domain_field)
    results = {rule: sim.query(soql)["records"] for rule, soql in queries.items()}
    match = choose_account(results, email, RULES, domain_field)
    return (match.account_id, match.rule, match.candidates) if match else ("", "", [])


def test_every_rule_of_the_checkout_has_its_batch_form() -> None:
    assert BATCH_RULES.keys() == MATCH_RULES.keys()


@pytest.mark.parametrize("domain_field", [None, "Email_Domain__c"])
def test_batched_matching_gives_each_email_the_checkout_s_account_rule_and_candidates(
    domain_field: str | None,
) -> None:
    # Given
    sim = seeded_org(domain_field)
    emails = [normalise_email(text) for text in EMAILS]
    lookup = BatchLookup(FakeSalesforce(sim), RULES, domain_field, no_wait())
    # When
    found = lookup.match(emails)
    # Then
    for email in emails:
        match = found[email.address]
        batched = (match.account_id, match.rule, match.candidates) if match else ("", "", [])
        assert batched == checkout_answer(sim, email, domain_field), email.address


def test_several_candidates_pick_the_oldest_account_and_list_them_all() -> None:
    # Given
    sim = seeded_org()
    email = normalise_email("jane@acme.example")
    # When
    match = BatchLookup(FakeSalesforce(sim), RULES, None, no_wait()).match([email])[email.address]
    # Then
    assert match is not None
    assert match.rule == "contact_email"
    assert len(match.candidates) == 2
    assert sim.get("Account", match.account_id)["Name"] == "Acme"  # type: ignore[index]


def test_many_emails_go_in_few_calls_of_at_most_five_queries_each_within_the_url_limit() -> None:
    # Given: 2,000 emails, none known
    salesforce = FakeSalesforce(SalesforceSim())
    emails = [normalise_email(f"customer.number.{i:05d}@company{i % 7}.example") for i in range(2000)]
    # When
    BatchLookup(salesforce, ["contact_email"], None, no_wait()).match(emails)
    # Then
    queries = [soql for call in salesforce.calls for soql in call.values()]
    assert all(len(call) <= 5 for call in salesforce.calls)
    assert all(url_length(soql) <= MAX_URL_CHARACTERS for soql in queries)
    assert len(salesforce.calls) <= 2000 // 250  # hundreds of emails per query


def test_a_query_whose_page_came_back_incomplete_is_split_and_asked_again() -> None:
    # Given: the first query's answer says Salesforce holds more rows
    sim = seeded_org()
    salesforce = FakeSalesforce(sim)
    emails = [normalise_email(text) for text in ("jane@acme.example", "maria@globex.example")]
    first = BATCH_RULES["contact_email"].soql([email.address for email in emails], None)
    salesforce.incomplete_once.add(first)
    # When
    found = BatchLookup(salesforce, ["contact_email"], None, no_wait()).match(emails)
    # Then: asked again in halves, and nobody lost a candidate
    assert len(salesforce.calls) == 2
    assert len(salesforce.calls[1]) == 2
    assert all(found[email.address] is not None for email in emails)


def test_the_next_rule_asks_only_about_the_emails_the_previous_one_did_not_match() -> None:
    # Given
    sim = seeded_org()
    salesforce = FakeSalesforce(sim)
    emails = [normalise_email(text) for text in ("jane@acme.example", "bob@initech.example")]
    # When
    BatchLookup(salesforce, RULES, None, no_wait()).match(emails)
    # Then
    domain_query = next(iter(salesforce.calls[1].values())).text
    assert "initech.example" in domain_query
    assert "acme.example" not in domain_query


def test_ids_are_checked_with_query_all_and_merged_masters_followed_in_another_call() -> None:
    # Given
    sim = SalesforceSim()
    master, merged, gone, live = (sim.insert("Account", {"Name": name}) for name in ("M", "L", "G", "A"))
    final = sim.insert("Account", {"Name": "F"})
    sim.merge("Account", master, merged)
    sim.merge("Account", final, master)
    sim.delete("Account", gone)
    salesforce = FakeSalesforce(sim)
    # When
    checks = BatchLookup(salesforce, RULES, None, no_wait()).check_ids([merged, gone, live])
    # Then
    assert {key: (check.state, check.live_id) for key, check in checks.items()} == {
        merged: (CrmIdState.MERGED, final),
        gone: (CrmIdState.DELETED, None),
        live: (CrmIdState.LIVE, live),
    }
    assert all(soql.all_rows for call in salesforce.calls for soql in call.values())


def test_a_refused_lookup_is_waited_out_and_asked_again() -> None:
    # Given: Salesforce refuses the first call as over its limit
    sim = seeded_org()
    salesforce = FakeSalesforce(sim)
    salesforce.failures.append(UpstreamError("salesforce_lookup", "REQUEST_LIMIT_EXCEEDED", "later", retryable=True))
    patience = no_wait()
    email = normalise_email("jane@acme.example")
    # When
    found = BatchLookup(salesforce, RULES, None, patience).match([email])
    # Then
    assert found[email.address] is not None
    assert patience.waits == 1
