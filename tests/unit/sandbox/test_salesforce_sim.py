"""The Salesforce simulator, driven over real HTTPS by requests and simple-salesforce."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_soql

from sandbox.salesforce import DEFAULT_ORG_ID, SalesforceApiError, SalesforceSim, canonical_id, to_18
from sandbox.stack import Sandbox, SandboxOptions
from sandbox.tls import SandboxCA

CLIENT_ID = "3MVG9test.client"
CLIENT_SECRET = "s3cr3t"
USERNAME = "integration@acme.example.com"
AUDIENCE = "https://login.salesforce.com"
VERSION = "62.0"
SF_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")
HALTED = "PROCESSING_HALTED"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> SandboxCA:
    return SandboxCA(Path(tmp_path_factory.mktemp("ca")))


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def server(ca: SandboxCA, private_key: rsa.RSAPrivateKey) -> Iterator[SalesforceSim]:
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sim = SalesforceSim(
        ca.server_context(),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        jwt_public_key_pem=public_pem.decode(),
        jwt_username=USERNAME,
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(server: SalesforceSim) -> SalesforceSim:
    server.reset()
    return server


@pytest.fixture
def http(ca: SandboxCA) -> Iterator[requests.Session]:
    session = _trusting(ca)
    yield session
    session.close()


@pytest.fixture
def token(sim: SalesforceSim, http: requests.Session) -> str:
    reply = _token(http, sim, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert reply.status_code == 200
    return str(reply.json()["access_token"])


@pytest.fixture
def sf(sim: SalesforceSim, http: requests.Session, token: str) -> Salesforce:
    return Salesforce(instance_url=sim.url, session_id=token, version=VERSION, session=http)


def _trusting(ca: SandboxCA) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca.bundle_path)
    return session


def _token(http: requests.Session, sim: SalesforceSim, **form: str) -> requests.Response:
    return http.post(f"{sim.url}/services/oauth2/token", data=form, timeout=10)


def _assertion(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    claims = {"iss": CLIENT_ID, "sub": USERNAME, "aud": AUDIENCE, "exp": int(time.time()) + 120} | overrides
    return jwt.encode(claims, key, algorithm="RS256")


def _jwt_token(http: requests.Session, sim: SalesforceSim, assertion: str) -> requests.Response:
    return _token(http, sim, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion)


def _data_url(sim: SalesforceSim, path: str) -> str:
    return f"{sim.url}/services/data/v{VERSION}/{path}"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _error_code(exc: pytest.ExceptionInfo[Any]) -> str:
    return str(exc.value.content[0]["errorCode"])


def _ids(result: dict[str, Any]) -> list[str]:
    return [record["Id"] for record in result["records"]]


def _composite(sf: Salesforce, requests_: list[dict[str, Any]], all_or_none: bool = True) -> list[dict[str, Any]]:
    body = {"allOrNone": all_or_none, "compositeRequest": requests_}
    return list(sf.restful("composite", method="POST", json=body)["compositeResponse"])


def _post(url: str, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "url": f"/services/data/v{VERSION}/{url}", "referenceId": ref, "body": body}


def _get(url: str, ref: str) -> dict[str, Any]:
    return {"method": "GET", "url": f"/services/data/v{VERSION}/{url}", "referenceId": ref}


# --- Ids ---------------------------------------------------------------------------------------------------------


def test_to_18_appends_no_capitals_checksum_to_all_digit_id() -> None:
    # Given a 15-char Id with no capital letters, every 5-char chunk has flags 00000 -> 'A'
    # When / Then
    assert to_18("001000000000001") == "001000000000001AAA"


@pytest.mark.parametrize(
    ("id15", "expected"),
    [
        ("a0RE000000IJmcN", "a0RE000000IJmcNMAT"),
        ("001M000000qfPyS", "001M000000qfPySIAU"),
        ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
    ],
)
def test_to_18_matches_published_examples(id15: str, expected: str) -> None:
    assert to_18(id15) == expected


def test_canonical_id_restores_letter_case_of_an_18_char_id_from_its_suffix() -> None:
    assert canonical_id("001m000000qfpysiau") == "001M000000qfPySIAU"


def test_default_org_id_is_a_valid_18_char_org_id() -> None:
    assert DEFAULT_ORG_ID.startswith("00D")
    assert to_18(DEFAULT_ORG_ID[:15]) == DEFAULT_ORG_ID


@pytest.mark.parametrize(
    ("sobject", "fields", "prefix"),
    [
        ("Account", {"Name": "Acme"}, "001"),
        ("Contact", {"LastName": "Smith"}, "003"),
        ("Product2", {"Name": "Gold"}, "01t"),
    ],
)
def test_created_ids_carry_key_prefix_and_valid_checksum(
    sf: Salesforce, sobject: str, fields: dict[str, Any], prefix: str
) -> None:
    # When
    created = getattr(sf, sobject).create(fields)
    # Then
    assert len(created["id"]) == 18
    assert created["id"].startswith(prefix)
    assert to_18(created["id"][:15]) == created["id"]


def test_order_and_order_item_ids_use_801_and_802(sim: SalesforceSim) -> None:
    account = sim.insert("Account", {"Name": "Acme"})
    order = sim.insert("Order", {"AccountId": account, "EffectiveDate": "2026-01-01", "Status": "Draft"})
    item = sim.insert("OrderItem", {"OrderId": order, "Quantity": 1, "UnitPrice": 10})
    assert (order[:3], item[:3]) == ("801", "802")


def test_get_accepts_a_15_char_id(sim: SalesforceSim, sf: Salesforce) -> None:
    account_id = sim.insert("Account", {"Name": "Acme"})
    # When
    record = sf.Account.get(account_id[:15])
    # Then
    assert record["Id"] == account_id


def test_where_id_equals_accepts_a_15_char_id(sim: SalesforceSim, sf: Salesforce) -> None:
    account_id = sim.insert("Account", {"Name": "Acme"})
    sim.insert("Account", {"Name": "Other"})
    # When
    result = sf.query(format_soql("SELECT Id FROM Account WHERE Id = {}", account_id[:15]))
    # Then
    assert _ids(result) == [account_id]


# --- OAuth -------------------------------------------------------------------------------------------------------


def test_client_credentials_grant_returns_salesforce_token_shape(sim: SalesforceSim, http: requests.Session) -> None:
    # When
    reply = _token(http, sim, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    # Then
    body = reply.json()
    assert reply.status_code == 200
    assert set(body) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"}
    assert body["instance_url"] == sim.url
    assert body["id"] == f"{sim.url}/id/{sim.org_id}/{sim.user_id}"
    assert body["token_type"] == "Bearer"


def test_client_credentials_accepted_through_http_basic(sim: SalesforceSim, http: requests.Session) -> None:
    reply = http.post(
        f"{sim.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    assert reply.status_code == 200


def test_wrong_client_secret_is_invalid_client(sim: SalesforceSim, http: requests.Session) -> None:
    reply = _token(http, sim, grant_type="client_credentials", client_id=CLIENT_ID, client_secret="nope")
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_client")


def test_unknown_grant_type_is_unsupported(sim: SalesforceSim, http: requests.Session) -> None:
    reply = _token(http, sim, grant_type="password", username="u", password="p")
    assert (reply.status_code, reply.json()["error"]) == (400, "unsupported_grant_type")


def test_jwt_bearer_grant_with_registered_key_returns_token(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    # When
    reply = _jwt_token(http, sim, _assertion(private_key))
    # Then
    body = reply.json()
    assert reply.status_code == 200
    assert body["instance_url"] == sim.url
    assert "refresh_token" not in body
    assert http.get(
        _data_url(sim, "query"), params={"q": "SELECT Id FROM User"}, headers=_bearer(body["access_token"]), timeout=10
    ).ok


def test_jwt_signed_by_another_key_is_invalid_grant(sim: SalesforceSim, http: requests.Session) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    reply = _jwt_token(http, sim, _assertion(stranger))
    assert reply.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_jwt_for_another_audience_is_rejected(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, aud="https://test.salesforce.com"))
    assert reply.json() == {"error": "invalid_grant", "error_description": "audience is invalid"}


def test_expired_jwt_is_invalid_grant(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, exp=int(time.time()) - 10))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_grant")


def test_jwt_expiring_more_than_three_minutes_ahead_is_rejected(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, exp=int(time.time()) + 600))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_grant")


def test_jwt_for_another_user_is_invalid_grant(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, sub="someone@else.com"))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_grant")


def test_jwt_issued_by_another_client_is_rejected(
    sim: SalesforceSim, http: requests.Session, private_key: rsa.RSAPrivateKey
) -> None:
    reply = _jwt_token(http, sim, _assertion(private_key, iss="other-client"))
    assert (reply.status_code, reply.json()["error"]) == (400, "invalid_client_id")


def test_token_calls_are_counted_in_the_call_log(sim: SalesforceSim, http: requests.Session) -> None:
    for _ in range(2):
        _token(http, sim, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert sim.call_count("/services/oauth2/token", "POST") == 2


def test_expired_tokens_get_401_invalid_session_id(sim: SalesforceSim, http: requests.Session, token: str) -> None:
    # Given
    sim.expire_tokens()
    # When
    reply = http.get(
        _data_url(sim, "query"), params={"q": "SELECT Id FROM Account"}, headers=_bearer(token), timeout=10
    )
    # Then
    assert reply.status_code == 401
    assert reply.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_simple_salesforce_sees_expired_session_after_expire_tokens(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.expire_tokens()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")


def test_request_without_bearer_token_is_401(sim: SalesforceSim, http: requests.Session) -> None:
    reply = http.get(_data_url(sim, "sobjects/Account/001000000000001"), timeout=10)
    assert reply.status_code == 401


def test_reset_keeps_issued_tokens_but_drops_records(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "Acme"})
    sim.reset()
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0


# --- query -------------------------------------------------------------------------------------------------------


def test_string_equality_is_case_insensitive(sim: SalesforceSim, sf: Salesforce) -> None:
    contact_id = sim.insert("Contact", {"LastName": "Smith", "Email": "Jane.Smith@Acme.com"})
    # When
    result = sf.query(format_soql("SELECT Id FROM Contact WHERE Email = {}", "jane.smith@acme.COM"))
    # Then
    assert _ids(result) == [contact_id]


def test_query_response_has_salesforce_shape(sim: SalesforceSim, sf: Salesforce) -> None:
    contact_id = sim.insert("Contact", {"LastName": "Smith", "Email": "j@acme.com"})
    result = sf.query("SELECT Id, Email FROM Contact")
    assert result == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Contact", "url": f"/services/data/v{VERSION}/sobjects/Contact/{contact_id}"},
                "Id": contact_id,
                "Email": "j@acme.com",
            }
        ],
    }


def test_like_is_case_insensitive_with_percent_wildcard(sim: SalesforceSim, sf: Salesforce) -> None:
    acme = sim.insert("Account", {"Name": "Acme", "Website": "https://www.ACME.com/"})
    sim.insert("Account", {"Name": "Other", "Website": "other.org"})
    result = sf.query(format_soql("SELECT Id FROM Account WHERE Website LIKE '%{:like}%'", "acme.com"))
    assert _ids(result) == [acme]


def test_like_underscore_matches_exactly_one_character(sim: SalesforceSim, sf: Salesforce) -> None:
    hit = sim.insert("Account", {"Name": "ab1"})
    sim.insert("Account", {"Name": "ab12"})
    assert _ids(sf.query("SELECT Id FROM Account WHERE Name LIKE 'ab_'")) == [hit]


def test_like_escaped_wildcards_match_literally(sim: SalesforceSim, sf: Salesforce) -> None:
    literal = sim.insert("Account", {"Name": "100%_off"})
    sim.insert("Account", {"Name": "100 percent off"})
    result = sf.query(format_soql("SELECT Id FROM Account WHERE Name LIKE '{:like}'", "100%_off"))
    assert _ids(result) == [literal]


def test_in_list_is_case_insensitive(sim: SalesforceSim, sf: Salesforce) -> None:
    first = sim.insert("Contact", {"LastName": "A", "Email": "a@x.com"})
    sim.insert("Contact", {"LastName": "B", "Email": "b@x.com"})
    result = sf.query(format_soql("SELECT Id FROM Contact WHERE Email IN {}", ["A@X.COM", "z@x.com"]))
    assert _ids(result) == [first]


def test_not_in_includes_null_values(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Contact", {"LastName": "A", "Email": "a@x.com"})
    without_email = sim.insert("Contact", {"LastName": "B"})
    result = sf.query("SELECT Id FROM Contact WHERE Email NOT IN ('a@x.com')")
    assert _ids(result) == [without_email]


def test_not_equal_null_filters_out_missing_values(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Acme"})
    linked = sim.insert("Contact", {"LastName": "A", "AccountId": account})
    sim.insert("Contact", {"LastName": "B"})
    assert _ids(sf.query("SELECT Id FROM Contact WHERE AccountId != null")) == [linked]


def test_order_by_several_keys_with_limit(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given two accounts created at the same instant and one older
    same = datetime(2026, 3, 1, tzinfo=UTC)
    ids = [
        sim.insert("Account", {"Name": "b"}, created_date=same),
        sim.insert("Account", {"Name": "a"}, created_date=same),
        sim.insert("Account", {"Name": "old"}, created_date=datetime(2025, 1, 1, tzinfo=UTC)),
    ]
    # When
    result = sf.query("SELECT Id FROM Account WHERE Id != null ORDER BY CreatedDate ASC, Name DESC LIMIT 2")
    # Then
    assert _ids(result) == [ids[2], ids[0]]


def test_order_by_desc_puts_nulls_last_by_default(sim: SalesforceSim, sf: Salesforce) -> None:
    no_phone = sim.insert("Account", {"Name": "n"})
    low = sim.insert("Account", {"Name": "l", "Phone": "1"})
    high = sim.insert("Account", {"Name": "h", "Phone": "2"})
    assert _ids(sf.query("SELECT Id FROM Account ORDER BY Phone DESC")) == [high, low, no_phone]


def test_order_by_nulls_last_overrides_ascending_default(sim: SalesforceSim, sf: Salesforce) -> None:
    no_phone = sim.insert("Account", {"Name": "n"})
    low = sim.insert("Account", {"Name": "l", "Phone": "1"})
    assert _ids(sf.query("SELECT Id FROM Account ORDER BY Phone ASC NULLS LAST")) == [low, no_phone]


def test_parent_fields_come_back_nested(sim: SalesforceSim, sf: Salesforce) -> None:
    created = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    account = sim.insert("Account", {"Name": "Acme"}, created_date=created)
    sim.insert("Contact", {"LastName": "A", "Email": "a@acme.com", "AccountId": account})
    # When
    record = sf.query("SELECT Id, AccountId, Account.CreatedDate, Account.Name FROM Contact")["records"][0]
    # Then
    assert record["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v{VERSION}/sobjects/Account/{account}"},
        "CreatedDate": "2026-11-23T18:00:00.000+0000",
        "Name": "Acme",
    }


def test_parent_fields_are_null_without_parent(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Contact", {"LastName": "A"})
    assert sf.query("SELECT Id, Account.Name FROM Contact")["records"][0]["Account"] is None


def test_escaped_apostrophe_matches_the_literal_value(sim: SalesforceSim, sf: Salesforce) -> None:
    contact = sim.insert("Contact", {"LastName": "O'Brien", "Email": "o'brien@acme.com"})
    result = sf.query(format_soql("SELECT Id FROM Contact WHERE Email = {}", "o'brien@acme.com"))
    assert _ids(result) == [contact]


def test_escaped_backslash_matches_the_literal_value(sim: SalesforceSim, sf: Salesforce) -> None:
    # In a name: Salesforce refuses a backslash in an email address (not among its documented characters).
    contact = sim.insert("Contact", {"LastName": "a\\b"})
    result = sf.query(format_soql("SELECT Id FROM Contact WHERE LastName = {}", "a\\b"))
    assert _ids(result) == [contact]


def test_unicode_escape_is_decoded(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Zoë"})
    assert _ids(sf.query("SELECT Id FROM Account WHERE Name = 'Zo\\u00eb'")) == [account]


def test_unescaped_quote_is_malformed_query(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Contact", {"LastName": "O'Brien", "Email": "o'brien@acme.com"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Contact WHERE Email = 'o'brien@acme.com'")
    assert _error_code(exc) == "MALFORMED_QUERY"


def test_mixing_and_with_or_without_parentheses_is_malformed(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Contact WHERE LastName = 'a' AND Email = 'b' OR Email = 'c'")
    assert _error_code(exc) == "MALFORMED_QUERY"


def test_parentheses_and_not_combine_conditions(sim: SalesforceSim, sf: Salesforce) -> None:
    keep = sim.insert("Contact", {"LastName": "a", "Email": "a@x.com"})
    sim.insert("Contact", {"LastName": "a", "Email": "skip@x.com"})
    sim.insert("Contact", {"LastName": "c", "Email": "c@x.com"})
    soql = "SELECT Id FROM Contact WHERE (LastName = 'A' OR LastName = 'b') AND NOT Email LIKE 'skip%'"
    assert _ids(sf.query(soql)) == [keep]


def test_unknown_field_is_invalid_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id, Nickname FROM Contact")
    assert _error_code(exc) == "INVALID_FIELD"


def test_unknown_object_is_invalid_type(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Lead__x")
    assert _error_code(exc) == "INVALID_TYPE"


def test_quoted_value_for_datetime_field_is_rejected(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Account WHERE CreatedDate > '2026-01-01'")
    assert _error_code(exc) == "INVALID_FIELD"


def test_datetime_literal_compares_with_created_date(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "old"}, created_date=datetime(2025, 6, 1, tzinfo=UTC))
    new = sim.insert("Account", {"Name": "new"}, created_date=datetime(2026, 6, 1, tzinfo=UTC))
    assert _ids(sf.query("SELECT Id FROM Account WHERE CreatedDate >= 2026-01-01T00:00:00Z")) == [new]


def test_malformed_id_literal_is_rejected(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Account WHERE Id = 'not-an-id'")
    assert _error_code(exc) == "INVALID_QUERY_FILTER_OPERATOR"


def test_person_account_fields_are_invalid_in_a_business_org(sim: SalesforceSim) -> None:
    with pytest.raises(SalesforceApiError) as exc:
        sim.query("SELECT Id FROM Account WHERE IsPersonAccount = true")
    assert exc.value.error_code == "INVALID_FIELD"


def test_person_account_fields_are_queryable_when_enabled() -> None:
    sim = SalesforceSim(person_accounts=True)
    person = sim.insert("Account", {"Name": "Jo Bloggs", "IsPersonAccount": True, "PersonEmail": "Jo@Mail.com"})
    result = sim.query("SELECT Id FROM Account WHERE IsPersonAccount = true AND PersonEmail = 'jo@mail.com'")
    assert _ids(result) == [person]


def test_custom_field_is_queryable_after_add_field(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.add_field("Account", "Email_Domain__c")
    account = sim.insert("Account", {"Name": "Acme", "Email_Domain__c": "acme.com"})
    assert _ids(sf.query("SELECT Id FROM Account WHERE Email_Domain__c = 'ACME.com'")) == [account]


def test_count_query_returns_total_size_only(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "a"})
    sim.insert("Account", {"Name": "b"})
    assert sf.query("SELECT COUNT() FROM Account") == {"totalSize": 2, "done": True, "records": []}


# --- sObjects ----------------------------------------------------------------------------------------------------


def test_create_answers_201_with_id_and_location(sim: SalesforceSim, http: requests.Session, token: str) -> None:
    reply = http.post(_data_url(sim, "sobjects/Account/"), json={"Name": "Acme"}, headers=_bearer(token), timeout=10)
    body = reply.json()
    assert reply.status_code == 201
    assert body == {"id": body["id"], "success": True, "errors": []}
    assert reply.headers["Location"] == f"/services/data/v{VERSION}/sobjects/Account/{body['id']}"


def test_get_returns_record_with_attributes_and_salesforce_dates(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Acme", "Website": "acme.com"})
    record = sf.Account.get(created["id"])
    assert record["attributes"]["type"] == "Account"
    assert (record["Name"], record["Website"], record["IsDeleted"]) == ("Acme", "acme.com", False)
    assert SF_DATETIME.fullmatch(record["CreatedDate"])
    assert SF_DATETIME.fullmatch(record["LastModifiedDate"])


def test_field_names_in_bodies_are_case_insensitive(sim: SalesforceSim, sf: Salesforce) -> None:
    created = sf.Contact.create({"lastname": "Smith", "EMAIL": "s@x.com"})
    assert sim.get("Contact", created["id"])["Email"] == "s@x.com"


def test_patch_updates_fields_and_answers_204(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Acme"}, created_date=datetime(2025, 1, 1, tzinfo=UTC))
    status = sf.Account.update(account, {"Phone": "555"})
    record = sim.get("Account", account)
    assert status == 204
    assert record["Phone"] == "555"
    assert record["LastModifiedDate"] > record["CreatedDate"]


def test_get_of_unknown_record_is_404_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Account.get(to_18("001000000000999"))
    assert exc.value.content == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


def test_missing_required_field_names_the_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"FirstName": "Jane"})
    assert exc.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert exc.value.content[0]["fields"] == ["LastName"]


def test_unknown_field_on_create_is_invalid_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "Acme", "Nickname": "A"})
    assert _error_code(exc) == "INVALID_FIELD"


def test_reference_to_missing_record_is_rejected(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "A", "AccountId": to_18("001000000000999")})
    assert _error_code(exc) == "INVALID_CROSS_REFERENCE_KEY"


# --- Composite ---------------------------------------------------------------------------------------------------


def test_composite_creates_linked_records_through_references(sim: SalesforceSim, sf: Salesforce) -> None:
    # When
    results = _composite(
        sf,
        [
            _post("sobjects/Account", "newAccount", {"Name": "Acme"}),
            _post("sobjects/Contact", "newContact", {"LastName": "A", "AccountId": "@{newAccount.id}"}),
        ],
    )
    # Then
    assert [r["httpStatusCode"] for r in results] == [201, 201]
    contact = sim.get("Contact", results[1]["body"]["id"])
    assert contact["AccountId"] == results[0]["body"]["id"]


def test_composite_query_result_feeds_a_later_subrequest(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Acme"})
    results = _composite(
        sf,
        [
            _get("query?q=SELECT+Id+FROM+Account+WHERE+Name+=+'Acme'", "found"),
            _get("sobjects/Account/@{found.records[0].Id}", "account"),
        ],
    )
    assert results[1]["body"]["Id"] == account


def test_composite_all_or_none_rolls_back_on_failure(sim: SalesforceSim, sf: Salesforce) -> None:
    # When the second subrequest misses a required field
    results = _composite(
        sf,
        [
            _post("sobjects/Account", "newAccount", {"Name": "Acme"}),
            _post("sobjects/Contact", "newContact", {"FirstName": "A", "AccountId": "@{newAccount.id}"}),
        ],
    )
    # Then nothing is saved, the failure keeps its error and the other one is halted
    assert sim.records("Account") == []
    assert results[1]["httpStatusCode"] == 400
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[0]["httpStatusCode"] == 400
    assert results[0]["body"][0]["errorCode"] == HALTED


def test_composite_without_all_or_none_keeps_successes_and_halts_dependents(sim: SalesforceSim, sf: Salesforce) -> None:
    results = _composite(
        sf,
        [
            _post("sobjects/Account", "good", {"Name": "Acme"}),
            _post("sobjects/Account", "bad", {"Website": "x.com"}),
            _post("sobjects/Contact", "dependent", {"LastName": "A", "AccountId": "@{bad.id}"}),
        ],
        all_or_none=False,
    )
    assert [r["httpStatusCode"] for r in results] == [201, 400, 400]
    assert results[2]["body"][0]["errorCode"] == HALTED
    assert len(sim.records("Account")) == 1


def test_composite_is_one_http_200_even_when_subrequests_fail(
    sim: SalesforceSim, http: requests.Session, token: str
) -> None:
    body = {"allOrNone": True, "compositeRequest": [_post("sobjects/Account", "bad", {})]}
    reply = http.post(_data_url(sim, "composite"), json=body, headers=_bearer(token), timeout=10)
    assert reply.status_code == 200


# --- sObject Tree ------------------------------------------------------------------------------------------------


def _tree_body(contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "acc"},
                "Name": "Acme",
                "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "con"}, **contact}]},
            }
        ]
    }


def test_tree_creates_account_with_contacts(sim: SalesforceSim, sf: Salesforce) -> None:
    result = sf.restful("composite/tree/Account", method="POST", json=_tree_body({"LastName": "A"}))
    ids = {r["referenceId"]: r["id"] for r in result["results"]}
    assert result["hasErrors"] is False
    assert sim.get("Contact", ids["con"])["AccountId"] == ids["acc"]


def test_tree_failure_rolls_back_everything(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/tree/Account", method="POST", json=_tree_body({"FirstName": "A"}))
    assert exc.value.content["hasErrors"] is True
    assert exc.value.content["results"][0]["referenceId"] == "con"
    assert exc.value.content["results"][0]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sim.records("Account") == []


# --- duplicate rules ---------------------------------------------------------------------------------------------


def test_duplicates_are_allowed_without_a_rule(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "Acme"})
    sf.Account.create({"Name": "Acme"})
    assert len(sim.records("Account")) == 2


def test_duplicate_rule_blocks_case_insensitive_match(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    existing = sim.insert("Account", {"Name": "Acme Ltd"})
    sim.enable_duplicate_rule("Account", "Name")
    # When
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "ACME LTD"})
    # Then
    error = exc.value.content[0]
    assert (error["errorCode"], error["message"]) == ("DUPLICATES_DETECTED", "Use one of these records?")
    match = error[sim.duplicate_result_key]["matchResults"][0]
    assert match["matchRecords"][0]["record"]["Id"] == existing
    assert len(sim.records("Account")) == 1


def test_duplicate_error_uses_salesforce_rest_spelling_and_shape(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Account", {"Name": "Acme"})
    sim.enable_duplicate_rule("Account", "Name", rule_name="Block_Accounts")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "acme"})
    result = exc.value.content[0]["duplicateResut"]
    assert result["allowSave"] is False
    assert (result["duplicateRule"], result["duplicateRuleEntityType"]) == ("Block_Accounts", "Account")
    assert set(result["matchResults"][0]) == {
        "entityType",
        "errors",
        "matchEngine",
        "matchRecords",
        "rule",
        "size",
        "success",
    }


def test_duplicate_contact_email_inside_composite_rolls_back(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.insert("Contact", {"LastName": "Old", "Email": "jane@acme.com"})
    sim.enable_duplicate_rule("Contact", "Email")
    results = _composite(
        sf,
        [
            _post("sobjects/Account", "newAccount", {"Name": "Acme"}),
            _post("sobjects/Contact", "newContact", {"LastName": "J", "Email": "Jane@Acme.com"}),
        ],
    )
    assert results[1]["body"][0]["errorCode"] == "DUPLICATES_DETECTED"
    assert sim.records("Account") == []


def test_reset_turns_duplicate_rules_off(sim: SalesforceSim, sf: Salesforce) -> None:
    sim.enable_duplicate_rule("Account", "Name")
    sim.reset()
    sim.insert("Account", {"Name": "Acme"})
    sf.Account.create({"Name": "Acme"})
    assert len(sim.records("Account")) == 2


# --- Python API and plumbing -------------------------------------------------------------------------------------


def test_insert_with_created_date_renders_salesforce_format(sim: SalesforceSim) -> None:
    account = sim.insert("Account", {"Name": "Acme"}, created_date=datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    assert sim.get("Account", account)["CreatedDate"] == "2026-11-23T18:00:00.000+0000"


def test_records_returns_copies(sim: SalesforceSim) -> None:
    sim.insert("Account", {"Name": "Acme"})
    sim.records("Account")[0]["Name"] = "changed"
    assert sim.records("Account")[0]["Name"] == "Acme"


def test_api_usage_header_is_parsed_by_simple_salesforce(sf: Salesforce) -> None:
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].total == 15000


def test_concurrent_creates_get_distinct_ids(sim: SalesforceSim, ca: SandboxCA, token: str) -> None:
    created: list[str] = []

    def create(n: int) -> None:
        with _trusting(ca) as session:
            client = Salesforce(instance_url=sim.url, session_id=token, version=VERSION, session=session)
            created.append(client.Account.create({"Name": f"A{n}"})["id"])

    threads = [threading.Thread(target=create, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(created)) == 10
    assert len(sim.records("Account")) == 10


# --- CPQ objects: Order, OrderItem, Product2, PricebookEntry, currencies -------------------------------------------


def _order(sim: SalesforceSim, **fields: Any) -> str:
    account = sim.insert("Account", {"Name": "Acme"})
    return sim.insert("Order", {"AccountId": account, "EffectiveDate": "2026-02-01"} | fields)


def test_order_defaults_to_draft_with_sequential_order_numbers_from_100() -> None:
    # Given a fresh org
    sim = SalesforceSim()
    # When
    first, second = _order(sim), _order(sim)
    # Then
    assert (sim.get("Order", first)["Status"], sim.get("Order", first)["OrderNumber"]) == ("Draft", "00000100")
    assert sim.get("Order", second)["OrderNumber"] == "00000101"


def test_order_number_is_read_only_over_the_api(sim: SalesforceSim, sf: Salesforce) -> None:
    account = sim.insert("Account", {"Name": "Acme"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Order.create({"AccountId": account, "EffectiveDate": "2026-01-01", "OrderNumber": "X"})
    assert _error_code(exc) == "INVALID_FIELD_FOR_INSERT_UPDATE"


@pytest.mark.parametrize(("missing", "field"), [("EffectiveDate", "EffectiveDate"), ("AccountId", "AccountId")])
def test_order_without_a_required_field_is_refused(
    sim: SalesforceSim, sf: Salesforce, missing: str, field: str
) -> None:
    # Given
    fields = {"AccountId": sim.insert("Account", {"Name": "Acme"}), "EffectiveDate": "2026-01-01"}
    del fields[missing]
    # When
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Order.create(fields)
    # Then
    assert exc.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert exc.value.content[0]["fields"] == [field]


@pytest.mark.parametrize(("missing", "field"), [("OrderId", "OrderId"), ("Quantity", "Quantity")])
def test_order_item_without_a_required_field_is_refused(
    sim: SalesforceSim, sf: Salesforce, missing: str, field: str
) -> None:
    fields = {"OrderId": _order(sim), "Quantity": 1}
    del fields[missing]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.OrderItem.create(fields)
    assert exc.value.content[0]["fields"] == [field]


def test_order_item_reads_product_mapping_fields_through_product2(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given the product's default mapping fields, registered on Product2 by default
    product = sim.insert(
        "Product2",
        {
            "Name": "Gold",
            "ProductCode": "GOLD",
            "IsActive": True,
            "Zuora_Product_Rate_Plan_Id__c": "8a1",
            "Zuora_Product_Rate_Plan_Charge_Id__c": "8a2",
        },
    )
    order = _order(sim)
    sim.insert("OrderItem", {"OrderId": order, "Product2Id": product, "Quantity": 3, "SBQQ__SubscriptionTerm__c": 12})
    # When
    rows = sf.query(
        format_soql(
            "SELECT Quantity, SBQQ__SubscriptionTerm__c, Product2.Name, Product2.Zuora_Product_Rate_Plan_Id__c, "
            "Product2.Zuora_Product_Rate_Plan_Charge_Id__c, Order.AccountId FROM OrderItem WHERE OrderId = {} "
            "ORDER BY CreatedDate ASC, Id ASC LIMIT 200",
            order,
        )
    )["records"]
    # Then
    assert (rows[0]["Quantity"], rows[0]["SBQQ__SubscriptionTerm__c"]) == (3.0, 12.0)
    assert {k: v for k, v in rows[0]["Product2"].items() if k != "attributes"} == {
        "Name": "Gold",
        "Zuora_Product_Rate_Plan_Id__c": "8a1",
        "Zuora_Product_Rate_Plan_Charge_Id__c": "8a2",
    }
    assert rows[0]["Order"]["AccountId"] == sim.get("Order", order)["AccountId"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SBQQ__ChargeType__c", "Recurring"),
        ("SBQQ__BillingFrequency__c", "Invoice Plan"),
        ("SBQQ__BillingType__c", "Arrears"),
        ("ServiceDate", "2026-02-01"),
        ("EndDate", "2027-01-31"),
    ],
)
def test_cpq_order_item_fields_are_stored(sim: SalesforceSim, field: str, value: str) -> None:
    item = sim.insert("OrderItem", {"OrderId": _order(sim), "Quantity": 1, field: value})
    assert sim.get("OrderItem", item)[field] == value


def test_bad_value_for_a_cpq_picklist_is_refused(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.OrderItem.create({"OrderId": _order(sim), "Quantity": 1, "SBQQ__BillingFrequency__c": "Weekly"})
    assert _error_code(exc) == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_subscription_term_is_a_number_in_soql(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM OrderItem WHERE SBQQ__SubscriptionTerm__c = '12'")
    assert _error_code(exc) == "INVALID_FIELD"


def test_order_total_amount_sums_its_items(sim: SalesforceSim, sf: Salesforce) -> None:
    # Given
    order = _order(sim, SBQQ__Quote__c="Q-00042", Description="first")
    sim.insert("OrderItem", {"OrderId": order, "Quantity": 2, "UnitPrice": 10})
    item = sim.insert("OrderItem", {"OrderId": order, "Quantity": 1, "UnitPrice": 5})
    # When
    sf.OrderItem.update(item, {"Quantity": 3})
    # Then
    record = sf.Order.get(order)
    assert (record["TotalAmount"], record["SBQQ__Quote__c"]) == (35.0, "Q-00042")


def test_deleting_an_order_deletes_its_items(sim: SalesforceSim, sf: Salesforce) -> None:
    order = _order(sim)
    sim.insert("OrderItem", {"OrderId": order, "Quantity": 1})
    sf.Order.delete(order)
    assert sim.records("OrderItem") == []


def test_order_item_takes_its_product_from_the_price_book_entry(sim: SalesforceSim) -> None:
    product = sim.insert("Product2", {"Name": "Gold", "ProductCode": "G"})
    book = sim.insert("Pricebook2", {"Name": "Standard"})
    entry = sim.insert("PricebookEntry", {"Pricebook2Id": book, "Product2Id": product, "UnitPrice": 9})
    item = sim.insert("OrderItem", {"OrderId": _order(sim), "PricebookEntryId": entry, "Quantity": 1})
    assert (sim.get("OrderItem", item)["Product2Id"], sim.get("PricebookEntry", entry)["Name"]) == (product, "Gold")


def test_insert_sets_the_owner(sim: SalesforceSim) -> None:
    user = sim.add_user("rep@acme.example.com", "pw")
    account = sim.insert("Account", {"Name": "Acme"}, owner_id=user)
    assert sim.get("Account", account)["OwnerId"] == user


def test_records_are_owned_by_the_integration_user_by_default(sim: SalesforceSim) -> None:
    assert sim.get("Order", _order(sim))["OwnerId"] == sim.user_id


def test_currency_iso_code_is_invalid_in_a_single_currency_org(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT CurrencyIsoCode FROM Account")
    assert _error_code(exc) == "INVALID_FIELD"


def test_multi_currency_org_defaults_to_the_corporate_currency() -> None:
    sim = SalesforceSim(multi_currency=True, currencies=("EUR", "USD"))
    account = sim.insert("Account", {"Name": "Acme"})
    assert sim.query("SELECT CurrencyIsoCode FROM Account")["records"][0]["CurrencyIsoCode"] == "EUR"
    assert sim.get("Account", account)["CurrencyIsoCode"] == "EUR"


def test_multi_currency_order_items_take_their_orders_currency() -> None:
    sim = SalesforceSim(multi_currency=True)
    order = _order(sim, CurrencyIsoCode="GBP")
    item = sim.insert("OrderItem", {"OrderId": order, "Quantity": 1})
    assert sim.get("OrderItem", item)["CurrencyIsoCode"] == "GBP"


def test_inactive_currency_is_refused() -> None:
    sim = SalesforceSim(multi_currency=True, currencies=("USD",))
    with pytest.raises(SalesforceApiError) as exc:
        sim.insert("Account", {"Name": "Acme", "CurrencyIsoCode": "EUR"})
    assert exc.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_add_field_with_values_makes_a_restricted_picklist() -> None:
    sim = SalesforceSim()
    sim.add_field("Order", "Region__c", "picklist", values=["EMEA", "AMER"])
    with pytest.raises(SalesforceApiError) as exc:
        _order(sim, Region__c="APAC")
    assert exc.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


# --- field lengths (sandbox/salesforce_fields.py) ----------------------------------------------------------------

# The documented limits, transcribed here rather than imported so that a wrong number in the simulator fails: API name,
# label (Salesforce names the field by its label in the message) and maximum length. Sources: Salesforce Field
# Reference Guide (Account; Contact; Name), a live org's Account field list (v49.0), Help "Email Address
# Internationalization (EAI) Considerations" (email fields: 80); details in sandbox/salesforce_fields.py.
ACCOUNT_LIMITS = [
    ("Name", "Account Name", 255),
    ("Website", "Website", 255),
    ("Phone", "Account Phone", 40),
    ("Type", "Account Type", 255),
    ("AccountSource", "Account Source", 255),
    ("Industry", "Industry", 255),
    ("Description", "Account Description", 32000),
    ("BillingStreet", "Billing Street", 255),
    ("BillingCity", "Billing City", 40),
    ("BillingState", "Billing State/Province", 80),
    ("BillingPostalCode", "Billing Zip/Postal Code", 20),
    ("BillingCountry", "Billing Country", 80),
    ("ShippingStreet", "Shipping Street", 255),
    ("ShippingCity", "Shipping City", 40),
    ("ShippingState", "Shipping State/Province", 80),
    ("ShippingPostalCode", "Shipping Zip/Postal Code", 20),
    ("ShippingCountry", "Shipping Country", 80),
]
CONTACT_LIMITS = [
    ("FirstName", "First Name", 40),
    ("LastName", "Last Name", 80),
    ("Email", "Email", 80),
    ("Phone", "Business Phone", 40),
    ("MailingStreet", "Mailing Street", 255),
    ("MailingCity", "Mailing City", 40),
    ("MailingState", "Mailing State/Province", 80),
    ("MailingPostalCode", "Mailing Zip/Postal Code", 20),
    ("MailingCountry", "Mailing Country", 80),
]
LIMITS = [
    *(pytest.param("Account", *limit, id=f"Account.{limit[0]}") for limit in ACCOUNT_LIMITS),
    *(pytest.param("Contact", *limit, id=f"Contact.{limit[0]}") for limit in CONTACT_LIMITS),
]
REQUIRED = {"Account": {"Name": "Acme"}, "Contact": {"LastName": "Doe"}}


def _value(field: str, length: int) -> str:
    """A value of exactly `length` characters that the field accepts but for its length (an address for emails)."""
    if field in ("Email", "PersonEmail"):
        return "j" * (length - len("@acme.com")) + "@acme.com"
    return "x" * length


def _too_long(field: str, label: str, value: str, limit: int) -> list[dict[str, Any]]:
    message = f"{label}: data value too large: {value} (max length={limit})"
    return [{"message": message, "errorCode": "STRING_TOO_LONG", "fields": [field]}]


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_at_its_limit_is_accepted_by_rest_create(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    # When a record is created with the field exactly at its documented length
    value = _value(field, limit)
    created = getattr(sf, sobject).create({**REQUIRED[sobject], field: value})
    # Then it is stored whole
    assert sim.get(sobject, created["id"])[field] == value


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_one_over_its_limit_is_refused_by_rest_create_with_string_too_long(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    # When a record is created with the field one character over its documented length
    value = _value(field, limit + 1)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        getattr(sf, sobject).create({**REQUIRED[sobject], field: value})
    # Then Salesforce's 400 names the field, its label and its length, and nothing is saved
    assert exc.value.status == 400
    assert exc.value.content == _too_long(field, label, value, limit)
    assert sim.records(sobject) == []


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_one_over_its_limit_halts_a_composite_all_or_none_and_nothing_is_written(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    # Given an all-or-none Composite whose first subrequest is fine and whose second writes one character too many
    value = _value(field, limit + 1)
    link = {"AccountId": "@{account.id}"} if sobject == "Contact" else {}
    # When it runs
    results = _composite(
        sf,
        [
            _post("sobjects/Account", "account", {"Name": "Acme"}),
            _post(f"sobjects/{sobject}", "tooLong", {**REQUIRED[sobject], **link, field: value}),
        ],
    )
    # Then the failing subrequest carries STRING_TOO_LONG, the other one PROCESSING_HALTED, and nothing is written
    assert results[1] == {
        "body": _too_long(field, label, value, limit),
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": "tooLong",
    }
    assert (results[0]["httpStatusCode"], results[0]["body"][0]["errorCode"]) == (400, HALTED)
    assert (sim.records("Account"), sim.records("Contact")) == ([], [])


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_at_its_limit_is_accepted_by_update(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    record = sim.insert(sobject, REQUIRED[sobject])
    value = _value(field, limit)
    assert getattr(sf, sobject).update(record, {field: value}) == 204
    assert sim.get(sobject, record)[field] == value


@pytest.mark.parametrize(("sobject", "field", "label", "limit"), LIMITS)
def test_text_field_one_over_its_limit_is_refused_by_update_and_the_record_is_unchanged(
    sim: SalesforceSim, sf: Salesforce, sobject: str, field: str, label: str, limit: int
) -> None:
    # Given a saved record
    record = sim.insert(sobject, REQUIRED[sobject])
    before = sim.get(sobject, record)
    # When an update writes one character too many
    value = _value(field, limit + 1)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        getattr(sf, sobject).update(record, {field: value})
    # Then it is refused with STRING_TOO_LONG and the record keeps its values
    assert exc.value.content == _too_long(field, label, value, limit)
    assert sim.get(sobject, record) == before


def test_text_field_one_over_its_limit_fails_an_sobject_tree_and_nothing_is_written(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    # When an Account + Contact tree carries a Contact city of 41 characters
    city = "C" * 41
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/tree/Account", method="POST", json=_tree_body({"LastName": "Doe", "MailingCity": city}))
    # Then the Contact's node carries the error and the Account is not saved either
    message = f"Mailing City: data value too large: {city} (max length=40)"
    assert exc.value.content == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "con",
                "errors": [{"statusCode": "STRING_TOO_LONG", "message": message, "fields": ["MailingCity"]}],
            }
        ],
    }
    assert (sim.records("Account"), sim.records("Contact")) == ([], [])


def test_seeding_an_over_long_value_is_refused_like_the_api(sim: SalesforceSim) -> None:
    with pytest.raises(SalesforceApiError) as exc:
        sim.insert("Contact", {"LastName": "Doe", "FirstName": "F" * 41})
    assert exc.value.error_code == "STRING_TOO_LONG"


def test_a_character_outside_the_basic_multilingual_plane_counts_as_two(sim: SalesforceSim, sf: Salesforce) -> None:
    # Salesforce counts UTF-16 code units (Knowledge article 005166849): 128 emoji are 256 of Account Name's 255.
    name = "\N{GRINNING FACE}" * 128
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": name})
    assert exc.value.content == _too_long("Name", "Account Name", name, 255)


def test_a_value_with_astral_characters_fitting_in_utf16_units_is_accepted(sim: SalesforceSim, sf: Salesforce) -> None:
    name = "\N{GRINNING FACE}" * 127 + "x"  # 128 characters, 255 UTF-16 code units
    created = sf.Account.create({"Name": name})
    assert sim.get("Account", created["id"])["Name"] == name


def test_accented_characters_count_as_one_each(sim: SalesforceSim, sf: Salesforce) -> None:
    city = "\N{LATIN SMALL LETTER E WITH ACUTE}" * 40  # 80 bytes in UTF-8, 40 characters
    created = sf.Contact.create({"LastName": "Doe", "MailingCity": city})
    assert sim.get("Contact", created["id"])["MailingCity"] == city


def test_person_email_is_limited_to_80_characters() -> None:
    sim = SalesforceSim(person_accounts=True)
    email = _value("PersonEmail", 81)
    with pytest.raises(SalesforceApiError) as exc:
        sim.insert("Account", {"Name": "Jo Bloggs", "IsPersonAccount": True, "PersonEmail": email})
    assert exc.value.body == _too_long("PersonEmail", "Email", email, 80)


# --- email addresses (sandbox/salesforce_fields.py) --------------------------------------------------------------


def _invalid_email(field: str, address: str) -> list[dict[str, Any]]:
    message = f"Email: invalid email address: {address}"
    return [{"message": message, "errorCode": "INVALID_EMAIL_ADDRESS", "fields": [field]}]


@pytest.fixture
def eai(sim: SalesforceSim) -> Iterator[SalesforceSim]:
    """The org with Email Address Internationalization turned on."""
    sim.email_internationalization = True
    yield sim
    sim.email_internationalization = False


def test_non_ascii_local_part_is_refused_without_email_internationalization(sim: SalesforceSim, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": "josé@acme.com"})
    assert exc.value.status == 400
    assert exc.value.content == _invalid_email("Email", "josé@acme.com")
    assert sim.records("Contact") == []


def test_non_ascii_domain_is_refused_without_email_internationalization(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": "anna@bücher.de"})
    assert exc.value.content == _invalid_email("Email", "anna@bücher.de")


def test_punycode_domain_is_accepted_without_email_internationalization(sim: SalesforceSim, sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "Doe", "Email": "anna@xn--bcher-kva.de"})
    assert sim.get("Contact", created["id"])["Email"] == "anna@xn--bcher-kva.de"


def test_non_ascii_local_part_is_accepted_with_email_internationalization(eai: SalesforceSim, sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "Doe", "Email": "josé@acme.com"})
    assert eai.get("Contact", created["id"])["Email"] == "josé@acme.com"


def test_non_ascii_domain_is_accepted_with_email_internationalization(eai: SalesforceSim, sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "Doe", "Email": "用户@例子.公司"})
    assert eai.get("Contact", created["id"])["Email"] == "用户@例子.公司"


def test_internationalized_address_of_80_characters_is_accepted_however_many_bytes(
    eai: SalesforceSim, sf: Salesforce
) -> None:
    # "We support non-Latin-based characters in email addresses up to the current 80-character maximum" (EAI help)
    address = "é" * 71 + "@acme.com"  # 80 characters, 151 bytes in UTF-8
    created = sf.Contact.create({"LastName": "Doe", "Email": address})
    assert eai.get("Contact", created["id"])["Email"] == address


@pytest.mark.parametrize("address", ["jo sé@acme.com", "josé", "josé@acme", "josé@@acme.com", "jo\u200bsé@acme.com"])
def test_email_internationalization_still_refuses_what_is_not_an_address(
    sf: Salesforce, eai: SalesforceSim, address: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": address})
    assert exc.value.content == _invalid_email("Email", address)


def test_non_ascii_email_is_refused_by_update_without_email_internationalization(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    contact = sim.insert("Contact", {"LastName": "Doe", "Email": "jose@acme.com"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.update(contact, {"Email": "josé@acme.com"})
    assert exc.value.content == _invalid_email("Email", "josé@acme.com")
    assert sim.get("Contact", contact)["Email"] == "jose@acme.com"


def test_non_ascii_email_halts_a_composite_all_or_none_without_email_internationalization(
    sim: SalesforceSim, sf: Salesforce
) -> None:
    results = _composite(
        sf,
        [
            _post("sobjects/Account", "account", {"Name": "Acme"}),
            _post(
                "sobjects/Contact",
                "contact",
                {"LastName": "Doe", "AccountId": "@{account.id}", "Email": "josé@acme.com"},
            ),
        ],
    )
    assert results[1]["body"] == _invalid_email("Email", "josé@acme.com")
    assert results[0]["body"][0]["errorCode"] == HALTED
    assert sim.records("Account") == []


@pytest.mark.parametrize("address", ["a..a@test.jp", "a..@test.jp", "a.@test.jp"])
def test_consecutive_and_trailing_dots_in_the_local_part_are_accepted(sf: Salesforce, address: str) -> None:
    # Salesforce's documented deviation from the RFCs (Knowledge article 000384328), asked for by customers in Japan
    assert sf.Contact.create({"LastName": "Doe", "Email": address})["success"] is True


def test_a_leading_dot_in_the_local_part_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": ".a@test.jp"})
    assert exc.value.content == _invalid_email("Email", ".a@test.jp")


def test_every_documented_local_part_character_is_accepted(sf: Salesforce) -> None:
    address = "az.AZ09!#$%&'*+-/=?^_`{|}~@acme.com"  # Knowledge article 000001145's list, both letter cases
    assert sf.Contact.create({"LastName": "Doe", "Email": address})["success"] is True


def test_a_comment_in_the_address_is_accepted(sf: Salesforce) -> None:
    # "john.doe@(comment)example.com and john.doe@example.com are equivalent" (Knowledge article 000384328)
    assert sf.Contact.create({"LastName": "Doe", "Email": "john.doe@(comment)example.com"})["success"] is True


REFUSED_ADDRESSES = [
    "a\\b@acme.com",  # backslash: not in the local part's documented characters
    '"a b"@acme.com',  # quoted local part
    "a,b@acme.com",
    "a b@acme.com",
    "a@b@acme.com",
    "@acme.com",  # no local part
    "a@",  # no domain
    "a@acme",  # no dot in the domain (the simulator's earlier rule; Salesforce's is undocumented)
    "a@acme..com",  # empty domain label
    "a@acme.com.",
    "a@[192.0.2.1]",  # address literal: the domain takes letters, digits and dashes only
    "a@ac_me.com",
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_an_address_outside_the_documented_format_is_refused(sf: Salesforce, address: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Doe", "Email": address})
    assert exc.value.content == _invalid_email("Email", address)


def test_person_email_is_refused_with_a_non_ascii_local_part_without_email_internationalization() -> None:
    sim = SalesforceSim(person_accounts=True)
    with pytest.raises(SalesforceApiError) as exc:
        sim.insert("Account", {"Name": "Jo", "IsPersonAccount": True, "PersonEmail": "josé@acme.com"})
    assert exc.value.body == _invalid_email("PersonEmail", "josé@acme.com")


def test_person_email_accepts_a_non_ascii_local_part_with_email_internationalization() -> None:
    sim = SalesforceSim(person_accounts=True, email_internationalization=True)
    account = sim.insert("Account", {"Name": "Jo", "IsPersonAccount": True, "PersonEmail": "josé@acme.com"})
    assert sim.get("Account", account)["PersonEmail"] == "josé@acme.com"


def test_sandbox_options_pass_email_internationalization_to_the_simulator(tmp_path: Path) -> None:
    sandbox = Sandbox(SandboxOptions(email_internationalization=True), workdir=tmp_path)
    assert sandbox.salesforce.email_internationalization is True
