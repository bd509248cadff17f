"""What Salesforce refuses in the values of the Account and Contact fields this product writes: text longer than the
field's documented length (`STRING_TOO_LONG`) and email addresses Salesforce does not accept (`INVALID_EMAIL_ADDRESS`,
with or without Email Address Internationalization). `sandbox.salesforce` applies these rules on every write path
(sObject create and update, Composite subrequests, sObject Tree, and the seeding `insert`/`update`).

Sources of the lengths and labels (Salesforce's pages unless marked third-party):
- Account: "Salesforce Field Reference Guide", Account (developer.salesforce.com, sfFieldRef v226.0 and v244.0): Name
  255, Phone 40, BillingStreet (a textarea) 255, BillingCity 40, BillingState 80, BillingPostalCode 20, BillingCountry
  80, Type/AccountSource/Industry (picklists) 255, Description 32000, and the labels. Shipping* = Billing*, Website 255
  and the same labels in a live org's field list (REST `wave/dataConnectors/.../sourceObjects/Account/fields`, v49.0,
  third-party notes on GitHub).
- Contact: Field Reference Guide, Contact (phone fields 40) and Name (FirstName 40, LastName 80, Email 80); the same
  and the Mailing* lengths (Street 255, City 40, State 80, PostalCode 20) in Skedulo's object reference (third-party),
  MailingCountry 80 as SFDO-Community/Summit-Events-App issue 595 quotes Contact's limits (third-party); labels as a
  Contact describe lists them ("Business Phone", "Mailing State/Province", "Mailing Zip/Postal Code").
- Email fields (Contact.Email, Account.PersonEmail) 80: Help "Email Address Internationalization (EAI) Considerations"
  ("up to the current 80-character maximum") and Knowledge article 000384328.
- Refusing instead of truncating: since API 15.0 (SOAP API Developer Guide, "AllowFieldTruncationHeader"). The message
  "<field label>: data value too large: <value> (max length=<n>)", the whole value included, with `fields: [<API
  name>]`, is as a real org answered inside Composite (`Account Name: data value too large: <256 characters> (max
  length=255)`, recorded in a public test fixture).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class TextField:
    """A standard text field's label (as Salesforce names it in error messages) and maximum length."""

    label: str
    length: int


@dataclass(frozen=True)
class FieldError:
    """One refused field value: Salesforce's `errorCode`, `message` and the field's API name."""

    error_code: str
    message: str
    field: str


def _address(prefix: str) -> dict[str, TextField]:
    return {
        f"{prefix}Street": TextField(f"{prefix} Street", 255),  # a textarea in Salesforce, still 255
        f"{prefix}City": TextField(f"{prefix} City", 40),
        f"{prefix}State": TextField(f"{prefix} State/Province", 80),
        f"{prefix}PostalCode": TextField(f"{prefix} Zip/Postal Code", 20),
        f"{prefix}Country": TextField(f"{prefix} Country", 80),
    }


ACCOUNT_FIELDS: Final[Mapping[str, TextField]] = {
    "Name": TextField("Account Name", 255),
    "Website": TextField("Website", 255),
    "Phone": TextField("Account Phone", 40),
    # Picklists the product may set through `accountDefaults`; unrestricted picklists are limited like text.
    "Type": TextField("Account Type", 255),
    "AccountSource": TextField("Account Source", 255),
    "Industry": TextField("Industry", 255),
    "Description": TextField("Account Description", 32000),
    **_address("Billing"),
    **_address("Shipping"),
    "PersonEmail": TextField("Email", 80),  # Person Accounts only
}

CONTACT_FIELDS: Final[Mapping[str, TextField]] = {
    "FirstName": TextField("First Name", 40),
    "LastName": TextField("Last Name", 80),
    "Email": TextField("Email", 80),
    "Phone": TextField("Business Phone", 40),
    **_address("Mailing"),
}

TEXT_FIELDS: Final[Mapping[str, Mapping[str, TextField]]] = {"Account": ACCOUNT_FIELDS, "Contact": CONTACT_FIELDS}


def text_length(value: str) -> int:
    """The length Salesforce compares with a field's maximum: UTF-16 code units, so a character outside the Basic
    Multilingual Plane (most emoji, CJK Extension B such as "𠮟") counts as 2.

    Salesforce runs on Java, whose strings count UTF-16 code units; Salesforce documents the consequence in Knowledge
    article 005166849 "Surrogate Pair Characters Are Treated as Two Characters" (formula functions LEN/LEFT/MID and "the
    String class" count "𠮟" as 2). Field lengths are enforced "at the character level and not at the byte level"
    (Knowledge article 000382141), i.e. in those same Java characters. The one contrary claim found (a glossary site,
    salesforcedictionary.com, "emoji ... 255 characters") cites nothing; counting code units also makes the sandbox
    refuse whatever Salesforce would, whichever way it counts."""
    return len(value.encode("utf-16-le", errors="surrogatepass")) // 2


def text_field(sobject: str, field: str) -> TextField | None:
    return TEXT_FIELDS.get(sobject, {}).get(field)


def field_label(sobject: str, field: str) -> str:
    known = text_field(sobject, field)
    return known.label if known else field


def check_value(
    sobject: str, field: str, kind: str, value: str, *, email_internationalization: bool
) -> FieldError | None:
    """Why Salesforce refuses `value` for `sobject.field` (of field type `kind`), or None when it accepts it. The length
    is checked before the email format (which of the two Salesforce reports first for a value breaking both is not
    documented)."""
    limit = text_field(sobject, field)
    if limit is not None and text_length(value) > limit.length:
        message = f"{limit.label}: data value too large: {value} (max length={limit.length})"
        return FieldError("STRING_TOO_LONG", message, field)
    if kind == "email" and not is_valid_email(value, internationalized=email_internationalization):
        message = f"{field_label(sobject, field)}: invalid email address: {value}"
        return FieldError("INVALID_EMAIL_ADDRESS", message, field)
    return None


# --- email addresses ---------------------------------------------------------------------------------------------

# RFC 5322 `atext`: the characters Knowledge article 000001145 "How does Salesforce qualify an email address?" lists for
# the local part ("abcdefghijklmnopqrstuvwxyz!#$%&'*/=?^_+-`{|}~0123456789", any letter case), plus the dot.
_LOCAL_CHARS: Final = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~.")
# Domain: "0-9 and A-Z and a-z and dash" (same article), in dot-separated labels. Punycode (xn--...) is plain ASCII.
_DOMAIN_CHARS: Final = frozenset(string.ascii_letters + string.digits + "-")
# "Comments - denoted by matched parentheses - are allowed in the domain part as well as in the local part" and ignored
# (article 000001145; 000384328: "john.doe@(comment)example.com and john.doe@example.com are equivalent").
_COMMENT_RE: Final = re.compile(r"\([^()]*\)")


def is_valid_email(address: str, *, internationalized: bool) -> bool:
    """Whether Salesforce accepts `address` in an email field.

    Without Email Address Internationalization (EAI) only ASCII is accepted: a non-ASCII local part (`josé@acme.com`)
    or domain (`anna@bücher.de`; its punycode form `anna@xn--bcher-kva.de` is fine) is refused. With EAI, non-ASCII
    letters, marks, digits and symbols may also appear in both parts (Help "Email Address Internationalization (EAI)").

    Surprising but documented (Knowledge article 000384328, "Salesforce Email Address Format Technical Standards
    Validation"): consecutive dots are accepted in the middle and at the end of the local part (`a..a@test.jp`,
    `a..@test.jp`, asked for by customers in Japan) but a leading dot (`.a@test.jp`) is refused. Not documented, and
    kept from the simulator's earlier rule: the domain needs at least one dot and no empty label. Quoted local parts
    and address literals (`[192.0.2.1]`) are refused (not in the documented character sets)."""
    bare = _COMMENT_RE.sub("", address)
    local, at, domain = bare.rpartition("@")
    if not at or not local or local.startswith("."):
        return False
    if not all(ch in _LOCAL_CHARS or (internationalized and _unicode_text(ch)) for ch in local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        return False
    return all(ch in _DOMAIN_CHARS or (internationalized and _unicode_text(ch)) for label in labels for ch in label)


def _unicode_text(ch: str) -> bool:
    """A non-ASCII character EAI allows: anything printable (not a control, format, separator or space character)."""
    return ord(ch) > 0x7F and unicodedata.category(ch)[0] not in "CZ"
