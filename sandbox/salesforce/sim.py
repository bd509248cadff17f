"""`SalesforceSim`: the simulated org's configuration, its Python API for tests, and the dispatch of HTTP
requests to the OAuth, identity and REST endpoints."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.salesforce.access import AccessObjects
from sandbox.salesforce.errors import not_found
from sandbox.salesforce.fields import is_valid_email
from sandbox.salesforce.identity import IdentityEndpoints
from sandbox.salesforce.ids import DEFAULT_ORG_ID, canonical_id, valid_org_id
from sandbox.salesforce.oauth import AUTH_CODE_LIFETIME, load_public_key
from sandbox.salesforce.rest import RestApi, to_response
from sandbox.salesforce.schema import DEFAULT_CURRENCIES, FIELD_KINDS, FieldDef, build_schema
from sandbox.salesforce.state import (
    DATA_PATH_RE,
    DEFAULT_SHARING,
    DEFAULT_VERSION,
    SHARE_ACCESS,
    SHARING_MODELS,
    DuplicateRule,
    Reply,
    SimUser,
)
from sandbox.salesforce.values import parse_datetime

API_USAGE_LIMIT = 15000
DEFAULT_CLIENT_ID = "3MVG9sandbox.client.id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_USERNAME = "integration@sandbox.example.com"
INVALID_SESSION_BODY = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
_IDENTITY_PATH_RE = re.compile(r"/id/([^/]+)/([^/]+)")


class SalesforceSim(AccessObjects, RestApi, IdentityEndpoints):
    """Salesforce org over HTTPS on loopback. Tests drive it with real simple-salesforce / requests calls and seed
    or inspect data through `insert`, `records`, `get`, `query`, `update`.

    Users: the integration user (`user_id`, the identity of client-credentials and JWT-bearer tokens) sees and edits
    everything. `add_user` creates people who sign in through the browser flow; their tokens see only what Salesforce
    sharing would let them see:
      - Account and Order: Private by default (owner, manual `share`, View All / Modify All users);
      - Contact: controlled by its Account (owner-based when it has none); OrderItem: always controlled by its Order;
      - Product2, Pricebook2, PricebookEntry, User: readable by every user of the org (they have no owner);
      - users of another org see nothing of this one. Invisible rows don't appear in queries, GET/PATCH/DELETE
        answer 404 NOT_FOUND, and a parent the user can't see reads as null in relationship fields.
      `set_sharing` changes an object's organization-wide default. What a user may do with a record is also
      queryable (`UserRecordAccess`), and so are their Custom Permissions (`UserSetupEntityAccess`,
      `add_custom_permission` / `grant_custom_permission`): `sandbox.salesforce.access`.

    Browser flow (OAuth 2.0 web server + PKCE S256): GET `/services/oauth2/authorize` answers a login page, a form
    POSTing back to the same URL with the request in hidden fields and `#username`, `#password`, `#login`; the right
    credentials redirect (302) to `redirect_uri?code=...&state=...`. The code is single-use, lives `code_lifetime`
    seconds (10 minutes) and is bound to client_id, redirect_uri and code_challenge. Unknown client_id or a
    redirect_uri that isn't allowed show an error page (400, never redirected); other errors go back to the callback.
    Allowed callbacks: exactly one of `allowed_redirect_uris`, or when that list is empty any http(s) URL on
    127.0.0.1, localhost or ::1. Identity: GET `/id/<org>/<user>` and `/services/oauth2/userinfo` with that user's
    token. A scope with `refresh_token` adds a refresh token (grant_type=refresh_token); `/services/oauth2/revoke`.

    Field values: every write (create, update, Composite, Tree, and `insert`/`update` here) refuses text longer than
    the field's documented length (`STRING_TOO_LONG`) and email addresses Salesforce refuses (`INVALID_EMAIL_ADDRESS`);
    `email_internationalization` is the org's Email Address Internationalization setting (non-ASCII email addresses),
    off by default here although orgs created in Summer '20 or later have it on (Help "Set Up Email Address
    Internationalization (EAI)"). Rules and their sources: `sandbox.salesforce.fields`.
    """

    name = "salesforce"

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        org_id: str = DEFAULT_ORG_ID,
        jwt_public_key_pem: str | None = None,
        jwt_username: str = DEFAULT_USERNAME,
        jwt_audience: str = "https://login.salesforce.com",
        person_accounts: bool = False,
        multi_currency: bool = False,
        currencies: Iterable[str] = DEFAULT_CURRENCIES,
        redirect_uris: Iterable[str] = (),
        api_latency: float = 0.0,
        session_timeout: float | None = None,
        duplicate_result_key: str = "duplicateResut",
        email_internationalization: bool = False,
    ) -> None:
        super().__init__(ssl_context, latency=api_latency)
        self.org_id = valid_org_id(org_id)
        self.client_id = client_id
        self.client_secret = client_secret
        self.jwt_username = jwt_username
        self.jwt_audience = jwt_audience
        self.person_accounts = person_accounts
        self.multi_currency = multi_currency
        self.currencies = tuple(currencies) if multi_currency else ()
        if multi_currency and not self.currencies:
            raise ValueError("a multi-currency org needs at least one currency (the first is the corporate one)")
        self.session_timeout = session_timeout
        self.duplicate_result_key = duplicate_result_key
        self.email_internationalization = email_internationalization
        # Callback URLs of the connected app; empty: any http(s) URL on a loopback host (127.0.0.1, localhost, ::1).
        self.allowed_redirect_uris = list(redirect_uris)
        self.require_pkce = True
        self.require_secret_for_web_server_flow = False
        self.code_lifetime = AUTH_CODE_LIFETIME
        self._jwt_key = load_public_key(jwt_public_key_pem) if jwt_public_key_pem else None
        self.schema = build_schema(person_accounts, self.currencies)
        self._sharing = dict(DEFAULT_SHARING)
        self._tokens = {}
        self._refresh_tokens = {}
        self._codes = {}
        # Every access token, refresh token and authorization code ever issued (survives reset and expiry): log audits.
        self.issued_credentials = []
        self._spent_codes = {}
        self._shares = {}
        self._users = {}
        self._id_seq = 0
        self._order_seq = 100
        self._api_calls = 0
        self.api_usage_limit = API_USAGE_LIMIT
        self._data = {}
        self._deleted = {}
        self._duplicate_rules = []
        self.user_id = self._new_id("User")
        self._seed()

    # --- Python API for tests ------------------------------------------------------------------------------
    def reset_state(self) -> None:
        """Drop all records, duplicate rules, shares, sharing settings, added users (with their tokens),
        authorization codes and the API usage; keep credentials, custom fields, the integration user and its
        tokens."""
        with self.lock:
            self._duplicate_rules.clear()
            self._api_calls, self.api_usage_limit = 0, API_USAGE_LIMIT
            self._sharing = dict(DEFAULT_SHARING)
            self._codes.clear()
            self._spent_codes.clear()
            self._seed()
            self._tokens = {t: s for t, s in self._tokens.items() if s.user_id in self._users}
            self._refresh_tokens = {t: g for t, g in self._refresh_tokens.items() if g.user_id in self._users}

    def set_api_usage(self, used: int, limit: int | None = None) -> None:
        """The org's 24-hour API usage as `Sforce-Limit-Info` will report it (`api-usage=<used>/<limit>`)."""
        with self.lock:
            self._api_calls = used
            if limit is not None:
                self.api_usage_limit = limit

    def add_field(self, sobject: str, name: str, kind: str = "string", *, values: Iterable[str] | None = None) -> None:
        """Register a custom field (e.g. `Email_Domain__c`); kind: string/email/url/picklist/textarea/phone/boolean/
        double/date/datetime. `values` makes a picklist restricted to them."""
        if kind not in FIELD_KINDS:
            raise ValueError(f"unsupported field kind {kind!r}")
        with self.lock:
            self._sobject(sobject).add(FieldDef(name, kind, values=None if values is None else tuple(values)))

    def add_user(
        self,
        username: str,
        password: str,
        *,
        name: str | None = None,
        email: str | None = None,
        org_id: str | None = None,
        view_all: bool = False,
        modify_all: bool = False,
    ) -> str:
        """A person who can sign in at the login page; returns their 18-character `005` Id.

        A user of another org (`org_id`, any valid `00D` Id) signs in here too, but their tokens' identity names that
        org and they see no record of this one. Users of this org also appear as `User` records.
        """
        with self.lock:
            if not username.strip() or any(u.username.lower() == username.lower() for u in self._users.values()):
                raise ValueError(f"username must be non-empty and unique: {username!r}")
            address = email or username
            if not is_valid_email(address, internationalized=self.email_internationalization):
                raise ValueError(f"not an email address: {address!r}")
            user = SimUser(
                self._new_id("User"),
                username,
                password,
                name or username.partition("@")[0],
                address,
                self.org_id if org_id is None else valid_org_id(org_id),
                view_all=view_all,
                modify_all=modify_all,
            )
            self._add_user(user)
            return user.user_id

    @property
    def users(self) -> dict[str, SimUser]:
        """Every user by Id (the integration user included)."""
        with self.lock:
            return dict(self._users)

    @property
    def integration_user(self) -> SimUser:
        with self.lock:
            return self._users[self.user_id]

    def share(self, record_id: str, user_id: str, access: str = "Read") -> None:
        """A manual share: `user_id` may read (access="Read") or also edit (access="Edit") the record.

        Records whose access is controlled by their parent (OrderItem; Contact/Order when so configured) can't be
        shared; share the parent instead."""
        if access not in SHARE_ACCESS:
            raise ValueError(f"access must be one of {sorted(SHARE_ACCESS)}, got {access!r}")
        with self.lock:
            rid, uid = canonical_id(record_id), canonical_id(user_id)
            found = next(((name, rows) for name, rows in self._data.items() if rid in rows), None)
            if rid is None or found is None:
                raise ValueError(f"no record {record_id!r}")
            if uid is None or uid not in self._users:
                raise ValueError(f"no user {user_id!r}")
            model = self._sharing.get(found[0])
            if model is None or model == "ControlledByParent":
                raise ValueError(f"{found[0]} records can't be shared (their access isn't owner-based)")
            self._shares[(rid, uid)] = SHARE_ACCESS[access]

    def set_sharing(self, sobject: str, model: str) -> None:
        """Organization-wide default of an owned object: Private, PublicRead, PublicReadWrite or ControlledByParent
        (Contact and Order: by their Account; OrderItem is always controlled by its Order)."""
        with self.lock:
            sobj = self._sobject(sobject)
            allowed = {
                "Account": ("Private", "PublicRead", "PublicReadWrite"),
                "Contact": SHARING_MODELS,
                "Order": SHARING_MODELS,
                "Contract": SHARING_MODELS,
                "OrderItem": ("ControlledByParent",),
            }.get(sobj.name, ())
            if model not in allowed:
                raise ValueError(f"can't set {sobj.name} sharing to {model!r}")
            self._sharing[sobj.name] = model

    def enable_duplicate_rule(self, sobject: str, field_name: str, rule_name: str | None = None) -> DuplicateRule:
        """Block inserts whose `field_name` equals (trimmed, case-insensitive) an existing record's value."""
        with self.lock:
            sobj = self._sobject(sobject)
            definition = sobj.field(field_name)
            if definition is None:
                raise ValueError(f"no field {field_name!r} on {sobj.name}")
            rule = DuplicateRule(
                sobj.name,
                definition.name,
                rule_name or f"Sandbox_{sobj.name}_{definition.name}_Duplicate_Rule",
                f"Sandbox_{sobj.name}_{definition.name}_Matching_Rule",
            )
            self._duplicate_rules.append(rule)
            return rule

    def disable_duplicate_rules(self) -> None:
        with self.lock:
            self._duplicate_rules.clear()

    def insert(
        self,
        sobject: str,
        fields: dict[str, Any],
        created_date: datetime | None = None,
        owner_id: str | None = None,
    ) -> str:
        """Seed a record (validated like the API, duplicate rules not applied); returns its 18-character Id.

        The owner is `owner_id`, else `OwnerId` in `fields`, else the integration user. Read-only fields such as
        `OrderNumber` may be seeded; `CreatedDate` may be given in `fields` or as `created_date`."""
        fields = dict(fields)
        stamp = fields.pop("CreatedDate", None) if created_date is None else created_date
        created = parse_datetime(stamp) if isinstance(stamp, str) else stamp
        if owner_id is not None:
            fields["OwnerId"] = owner_id
        with self.lock:
            sobj = self._sobject(sobject)
            return self._create(sobj, fields, DEFAULT_VERSION, duplicates=False, created=created, seeding=True)

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        with self.lock:
            self._update(self._sobject(sobject), record_id, fields)

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete a record as the API does: into the Recycle Bin (an Account with its Contacts), where queryAll
        still finds it with IsDeleted = true."""
        with self.lock:
            sobj = self._sobject(sobject)
            rid = canonical_id(record_id)
            if rid is None or rid not in self._data[sobj.name]:
                raise ValueError(f"no live {sobj.name} {record_id!r}")
            self._delete(sobj, rid)

    def merge(self, sobject: str, master_id: str, *others: str) -> None:
        """Merge one or two Accounts (or Contacts) into `master_id`: their Contacts move to the master; they are
        deleted with MasterRecordId = the master."""
        with self.lock:
            ids = [canonical_id(value) or value for value in (master_id, *others)]
            self._merge(self._sobject(sobject), ids[0], ids[1:])

    def empty_recycle_bin(self) -> None:
        """Purge every deleted record (Salesforce does after 15 days): queryAll no longer finds them either."""
        with self.lock:
            self._deleted = {name: {} for name in self.schema}

    def deleted_records(self, sobject: str) -> list[dict[str, Any]]:
        """Copies of the records of a type in the Recycle Bin, in wire format."""
        with self.lock:
            sobj = self._sobject(sobject)
            return [self._render_record(sobj, rec) for rec in self._deleted[sobj.name].values()]

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Copies of every record of a type, in creation order, with values in wire format."""
        with self.lock:
            sobj = self._sobject(sobject)
            return [self._render_record(sobj, rec) for rec in self._data[sobj.name].values()]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            sobj = self._sobject(sobject)
            rec = self._data[sobj.name].get(canonical_id(record_id) or "")
            return None if rec is None else self._render_record(sobj, rec)

    def query(
        self, soql: str, version: str = DEFAULT_VERSION, *, as_user: str | None = None, all_rows: bool = False
    ) -> dict[str, Any]:
        """Run SOQL as the REST query resource would (as `as_user` sees the org, default: everything; `all_rows`: as
        queryAll, deleted records included); raises SalesforceApiError with Salesforce's error body."""
        with self.lock:
            user = None if as_user is None else self._user_or_error(as_user)
            return self._query(soql, version, user, include_deleted=all_rows)

    def issue_token(self, user_id: str | None = None) -> str:
        """A valid access token (of the integration user, or of `user_id`) without an HTTP round trip."""
        with self.lock:
            user = self._users[self.user_id] if user_id is None else self._user_or_error(user_id)
            return self._new_access_token(user)

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (the next API call answers 401 INVALID_SESSION_ID); refresh tokens
        stay valid, as when Salesforce sessions time out."""
        with self.lock:
            self._tokens.clear()

    @property
    def identity_url(self) -> str:
        return self.identity_url_of(self.user_id)

    def identity_url_of(self, user_id: str) -> str:
        with self.lock:
            user = self._user_or_error(user_id)
        return f"{self.url}/id/{user.org_id}/{user.user_id}"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/services/oauth2/authorize"

    # --- HTTP ----------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        endpoint = {
            "/services/oauth2/token": self._token_endpoint,
            "/services/oauth2/authorize": self._authorize_endpoint,
            "/services/oauth2/userinfo": self._userinfo_endpoint,
            "/services/oauth2/revoke": self._revoke_endpoint,
        }.get(path)
        if endpoint is not None:
            return endpoint(request)
        identity = _IDENTITY_PATH_RE.fullmatch(path)
        if identity is not None:
            return self._identity_endpoint(request, identity.group(1), identity.group(2))
        match = DATA_PATH_RE.fullmatch(request.path)
        if match is None:
            return to_response(Reply(404, not_found().body))
        with self.lock:
            user = self._bearer_user(request.headers.get("Authorization", ""))
            if user is None:
                return to_response(Reply(401, INVALID_SESSION_BODY, {"WWW-Authenticate": "Token"}))
            self._api_calls += 1
            if self._api_calls > self.api_usage_limit:
                # REST API Developer Guide, "Status Codes and Error Responses": 403 REQUEST_LIMIT_EXCEEDED once the
                # org's 24-hour allowance of API requests is spent.
                body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
                reply = Reply(403, body)
            else:
                reply = self._safely(lambda: self._data_request(request, match.group(1), match.group(2) or "", user))
            used = min(self._api_calls, self.api_usage_limit)
            reply.headers["Sforce-Limit-Info"] = f"api-usage={used}/{self.api_usage_limit}"
        return to_response(reply)

    # --- users (record access: `state.OrgState._access`) --------------------------------------------------
    def _seed(self) -> None:
        self._data = {name: {} for name in self.schema}
        self._deleted = {name: {} for name in self.schema}
        self._shares = {}
        self._users = {}
        integration = SimUser(
            self.user_id,
            self.jwt_username,
            None,
            "Integration User",
            self.jwt_username,
            self.org_id,
            view_all=True,
            modify_all=True,
        )
        self._add_user(integration)

    def _add_user(self, user: SimUser) -> None:
        self._users[user.user_id] = user
        if user.org_id != self.org_id:
            return
        values = {"Username": user.username, "Email": user.email, "IsActive": True, "LastName": user.last_name}
        values["FirstName"] = user.first_name
        self._store(self.schema["User"], user.user_id, self._coerce(self.schema["User"], values), None)

    def _user_or_error(self, user_id: str) -> SimUser:
        user = self._users.get(canonical_id(user_id) or "")
        if user is None:
            raise ValueError(f"no user {user_id!r}")
        return user
