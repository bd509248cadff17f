"""Registrable domains (public suffix list) and Website normalisation, the ground `account_domain` matches on:
a subdomain maps to its registrable domain, the result is always a suffix of the host, and `notX` is never `X`."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from sfzsync.matching import ascii_host, candidates_from_accounts, registrable_domain, website_domain

PUBLIC_SUFFIXES = ["com", "org", "net", "io", "de", "fr", "co.uk", "org.uk", "com.au", "co.jp", "com.br", "co.nz"]

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,15}[a-z0-9])?", fullmatch=True)
suffix = st.sampled_from(PUBLIC_SUFFIXES)
host = st.lists(st.one_of(label, st.sampled_from(["www", "mail", "co", "uk", "com"])), min_size=1, max_size=5).map(
    ".".join
)


@st.composite
def company_domains(draw: st.DrawFn) -> str:
    """A registrable domain: one label under a public suffix, valid by IDNA2008 (no `ab--c`: hyphens in the third and
    fourth positions are reserved, RFC 5891 section 4.2.3.1, and such a customer's email is refused at the door)."""
    name = f"{draw(label)}.{draw(suffix)}"
    assume(registrable_domain(name) == name and ascii_host(name) == name)
    return name


@given(company=company_domains(), subdomains=st.lists(label, max_size=4))
def test_every_subdomain_maps_to_its_registrable_domain(company: str, subdomains: list[str]) -> None:
    hostname = ".".join([*subdomains, company])

    assert registrable_domain(hostname) == company
    assert registrable_domain(hostname.upper() + ".") == company


@given(hostname=st.one_of(host, st.builds("{}.{}".format, host, suffix)))
def test_the_registrable_domain_is_always_a_whole_label_suffix_of_the_host(hostname: str) -> None:
    found = registrable_domain(hostname)

    assert found is None or hostname == found or hostname.endswith(f".{found}")


@given(company=company_domains(), prefix=st.sampled_from(["not", "my", "x", "acme-", "1"]), subdomains=st.lists(label))
def test_a_domain_with_a_longer_first_label_never_equals_the_company_domain(
    company: str, prefix: str, subdomains: list[str]
) -> None:
    lookalike = ".".join([*subdomains, prefix + company])

    assert registrable_domain(lookalike) != company
    assert website_domain(f"https://www.{lookalike}:8443/about?x={company}") != company


@given(company=company_domains(), prefix=st.sampled_from(["not", "my", "x"]))
def test_an_account_whose_website_is_notx_is_never_a_candidate_for_x(company: str, prefix: str) -> None:
    accounts: list[dict[str, object]] = [
        {"Id": "001000000000001AAA", "CreatedDate": "2026-01-01T00:00:00.000+0000", "Website": prefix + company},
        {"Id": "001000000000002AAA", "CreatedDate": "2026-01-02T00:00:00.000+0000", "Website": f"www.{company}/"},
    ]

    candidates = candidates_from_accounts(accounts, domain=company)

    assert [c.account_id for c in candidates] == ["001000000000002AAA"]


@given(
    company=company_domains(),
    subdomains=st.lists(label, max_size=3),
    scheme=st.sampled_from(["", "http://", "https://"]),
)
def test_a_website_with_scheme_www_port_and_path_normalises_to_its_registrable_domain(
    company: str, subdomains: list[str], scheme: str
) -> None:
    website = f"{scheme}www.{'.'.join([*subdomains, company])}:443/path?q=1#top"

    assert website_domain(website) == company
