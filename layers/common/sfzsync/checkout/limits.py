"""What Salesforce and Zuora accept in the values a checkout writes, so a request is refused before the first write.

A checkout that Salesforce accepted and Zuora then refused would leave an Account that no retry can finish: every
limit here is the stricter of the two systems', measured the way the stricter one measures.
"""

from __future__ import annotations

import string
from collections.abc import Callable

# Salesforce compares a text value's length in Java characters (UTF-16 code units): a character outside the Basic
# Multilingual Plane, most emoji among them, counts as 2 (Knowledge article 005166849, "Surrogate Pair Characters
# Are Treated as Two Characters"). Counting so is never more lenient than Zuora's count.
_SUPPLEMENTARY_PLANE = 0xFFFF

# The characters Salesforce accepts before the @ without Email Address Internationalization (Knowledge article
# 000001145, "How does Salesforce qualify an email address?"): letters, digits, these symbols and the dot.
SALESFORCE_EMAIL_LOCAL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~.")


def stored_length(text: str) -> int:
    """The length Salesforce holds `text` to: UTF-16 code units."""
    return len(text) + sum(1 for char in text if ord(char) > _SUPPLEMENTARY_PLANE)


def fits(limit: int) -> Callable[[str], str]:
    """A validator: the text, if it fits a field of `limit` characters as Salesforce counts them."""

    def check(text: str) -> str:
        length = stored_length(text)
        if length > limit:
            raise ValueError(
                f"is {length} characters as Salesforce counts them (emoji and other characters outside the Basic "
                f"Multilingual Plane count twice); the field holds {limit}"
            )
        return text

    return check


def email_local_part_problem(local_part: str, *, international: bool) -> str | None:
    """Why Salesforce would refuse this part before the @, or None.

    Without Email Address Internationalization only the characters above are accepted, and never a leading dot; with
    it, non-ASCII characters are accepted too.
    """
    if local_part.startswith("."):
        return "the part before @ must not start with a dot"
    if not local_part.isascii() and not international:
        return (
            "the part before @ has non-ASCII characters, which Salesforce accepts only with Email Address "
            "Internationalization (salesforce.emailInternationalization in the secret)"
        )
    refused = sorted({c for c in local_part if c.isascii() and c not in SALESFORCE_EMAIL_LOCAL_CHARACTERS})
    if refused:
        return f"the part before @ has characters Salesforce does not accept in an email: {' '.join(refused)}"
    return None
