"""A Zuora tenant and a Salesforce org for the backfill: accounts in every category the backfill meets, each with the
outcome it must end in (`Expected`), for the tests, `make backfill` and the benchmark.

The mix, in shares of every 100 accounts (`MIX`): no crmId (the bill-to email is a Contact's; at a company domain an
Account's Website holds; a free-mail address nothing matches; an email on Contacts of two Accounts), a 15-character
Id, a malformed one, the Id of a Contact instead of an Account, another org's Id, a deleted Account's, a merged
Account's (some merged twice), and accounts already linked. Accounts are numbered `BF0000001`, ... in that order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sandbox.salesforce import SalesforceSim, to_18
from sandbox.zuora import ZuoraSim

MIX: tuple[tuple[str, int], ...] = (
    ("contact_email", 30),
    ("company_domain", 8),
    ("free_mail", 7),
    ("several_candidates", 5),
    ("id_15", 8),
    ("malformed", 7),
    ("not_an_account", 3),
    ("foreign_org", 7),
    ("deleted", 7),
    ("merged", 8),
    ("already_linked", 10),
)
_SLOTS = [name for name, share in MIX for _ in range(share)]
_OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Expected:
    """What the report must say of one account."""

    outcome: str
    crm_id_state: str
    rule: str = ""
    new_crm_id: str = ""
    candidates: tuple[str, ...] = ()


@dataclass
class BackfillMix:
    """The seeded accounts: category and expected result by Zuora account number (in account-number order)."""

    category: dict[str, str] = field(default_factory=dict)
    expected: dict[str, Expected] = field(default_factory=dict)
    zuora_seed: list[tuple[str, str, str | None, dict[str, str]]] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(self.category.values())

    def expected_with_create_missing(self, number: str) -> Expected:
        """With --create-missing, the free-mail accounts get an Account of their own; the rest is unchanged."""
        found = self.expected[number]
        if found.outcome != "unmatched":
            return found
        return Expected("created", found.crm_id_state, "created")


def seed_backfill_mix(salesforce: SalesforceSim, zuora: ZuoraSim, accounts: int) -> BackfillMix:
    """Seed both simulators (empty ones) with `accounts` Zuora accounts in the mix and what they should match."""
    mix = BackfillMix()
    for index in range(accounts):
        category = _SLOTS[index % len(_SLOTS)]
        number = f"BF{index + 1:07d}"
        crm_id, email, expected = _SEEDERS[category](salesforce, index)
        contact = {"firstName": "Pat", "lastName": f"Customer {index}", "workEmail": email, "country": "United States"}
        mix.category[number] = category
        mix.expected[number] = expected
        mix.zuora_seed.append((number, f"Customer {index}", crm_id, contact))
    seed_zuora(zuora, mix)
    return mix


def seed_zuora(zuora: ZuoraSim, mix: BackfillMix) -> None:
    """The Zuora side of the mix again (after `zuora.reset()`): the same accounts, unlinked as they were."""
    for number, name, crm_id, contact in mix.zuora_seed:
        zuora.seed_account(
            name, crm_id=crm_id, account_number=number, bill_to_contact=contact, with_payment_method=False
        )


Seeder = tuple[str | None, str, Expected]


def _account(sim: SalesforceSim, name: str, website: str | None = None, created: dt.datetime | None = None) -> str:
    fields = {"Name": name} if website is None else {"Name": name, "Website": website}
    return sim.insert("Account", fields, created_date=created)


def _contact(sim: SalesforceSim, account_id: str, email: str, index: int) -> str:
    return sim.insert("Contact", {"LastName": f"Customer {index}", "Email": email, "AccountId": account_id})


def _contact_email(sim: SalesforceSim, i: int) -> Seeder:
    email = f"buyer{i}@firm{i}.example"
    account = _account(sim, f"Firm {i}")
    _contact(sim, account, email, i)
    return None, email, Expected("linked", "none", "contact_email", account, (account,))


def _company_domain(sim: SalesforceSim, i: int) -> Seeder:
    account = _account(sim, f"Company {i}", website=f"https://www.company{i}.example/about")
    return None, f"ops{i}@mail.company{i}.example", Expected("linked", "none", "account_domain", account, (account,))


def _free_mail(sim: SalesforceSim, i: int) -> Seeder:
    return None, f"someone.{i}@gmail.com", Expected("unmatched", "none")


def _several_candidates(sim: SalesforceSim, i: int) -> Seeder:
    email = f"shared{i}@group{i}.example"
    newer = _account(sim, f"Group {i} EU")
    older = _account(sim, f"Group {i}", created=_OLD + dt.timedelta(minutes=i))
    _contact(sim, newer, email, i)
    _contact(sim, older, email, i)
    return None, email, Expected("linked", "none", "contact_email", older, tuple(sorted((newer, older))))


def _id_15(sim: SalesforceSim, i: int) -> Seeder:
    account = _account(sim, f"Short {i}")
    return account[:15], f"short{i}@short{i}.example", Expected("normalised", "id_15", "id_18", account)


def _malformed(sim: SalesforceSim, i: int) -> Seeder:
    email = f"typo{i}@typo{i}.example"
    account = _account(sim, f"Typo {i}")
    _contact(sim, account, email, i)
    return f"SF-{i}", email, Expected("linked", "malformed", "contact_email", account, (account,))


def _not_an_account(sim: SalesforceSim, i: int) -> Seeder:
    email = f"wrong{i}@wrong{i}.example"
    account = _account(sim, f"Wrong {i}")
    contact = _contact(sim, account, email, i)
    return contact, email, Expected("linked", "not_an_account", "contact_email", account, (account,))


def _foreign_org(sim: SalesforceSim, i: int) -> Seeder:
    email = f"moved{i}@moved{i}.example"
    account = _account(sim, f"Moved {i}")
    _contact(sim, account, email, i)
    foreign = to_18(f"001XX{i:010d}")
    return foreign, email, Expected("linked", "not_in_org", "contact_email", account, (account,))


def _deleted(sim: SalesforceSim, i: int) -> Seeder:
    email = f"again{i}@again{i}.example"
    gone = _account(sim, f"Gone {i}")
    sim.delete("Account", gone)
    account = _account(sim, f"Again {i}")
    _contact(sim, account, email, i)
    return gone, email, Expected("linked", "deleted", "contact_email", account, (account,))


def _merged(sim: SalesforceSim, i: int) -> Seeder:
    master = _account(sim, f"Master {i}")
    loser = _account(sim, f"Merged {i}")
    _contact(sim, loser, f"merged{i}@merged{i}.example", i)
    sim.merge("Account", master, loser)
    if i % 2:  # merged once more, later: the master of the master
        final = _account(sim, f"Final {i}")
        sim.merge("Account", final, master)
        master = final
    return loser, f"merged{i}@merged{i}.example", Expected("relinked_to_master", "merged", "master_record", master)


def _already_linked(sim: SalesforceSim, i: int) -> Seeder:
    account = _account(sim, f"Linked {i}")
    return account, f"fine{i}@fine{i}.example", Expected("already_linked", "live")


_SEEDERS = {
    "contact_email": _contact_email,
    "company_domain": _company_domain,
    "free_mail": _free_mail,
    "several_candidates": _several_candidates,
    "id_15": _id_15,
    "malformed": _malformed,
    "not_an_account": _not_an_account,
    "foreign_org": _foreign_org,
    "deleted": _deleted,
    "merged": _merged,
    "already_linked": _already_linked,
}
