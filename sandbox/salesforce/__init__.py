"""Salesforce simulator over HTTPS: OAuth 2.0 token grants (client credentials, JWT bearer, web-server flow with
PKCE behind a login page, refresh token), identity URL and OpenID userinfo, REST query with a real SOQL subset,
sObject create/get/update/delete, Composite and sObject Tree (all-or-none), duplicate rules, per-user record
visibility (owner, manual shares, View All, controlled by parent), CPQ order fields and 18-character case-safe Ids,
field lengths and email address rules (with or without Email Address Internationalization, see `fields`),
answering in Salesforce's documented wire formats and error bodies.

Modules: `sim` (SalesforceSim: configuration, Python API, request dispatch), `oauth` and `pages` (token and
authorization endpoints, login page), `identity` (identity URL, userinfo), `rest` (the data API's routing),
`records` (the record store and its validation), `soql` (parser and evaluator), `composite` (Composite and sObject
Tree), `state` (what the org holds, record access), `schema` (sObject definitions), `fields` (field lengths and
email addresses), `ids` (15/18-character Ids), `values` (wire formats), `errors` (error bodies).
"""

from sandbox.salesforce.errors import SalesforceApiError, api_error
from sandbox.salesforce.ids import DEFAULT_ORG_ID, canonical_id, to_18
from sandbox.salesforce.schema import FieldDef, SObjectDef, build_schema
from sandbox.salesforce.sim import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_USERNAME, SalesforceSim
from sandbox.salesforce.soql import SoqlLexer, SoqlParser, SoqlQuery, SoqlString, Token
from sandbox.salesforce.state import DEFAULT_VERSION, DuplicateRule, SimUser
from sandbox.salesforce.values import format_datetime

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_ORG_ID",
    "DEFAULT_USERNAME",
    "DEFAULT_VERSION",
    "DuplicateRule",
    "FieldDef",
    "SObjectDef",
    "SalesforceApiError",
    "SalesforceSim",
    "SimUser",
    "SoqlLexer",
    "SoqlParser",
    "SoqlQuery",
    "SoqlString",
    "Token",
    "api_error",
    "build_schema",
    "canonical_id",
    "format_datetime",
    "to_18",
]
