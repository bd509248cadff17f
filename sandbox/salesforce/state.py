"""The state of the simulated org and its record access rules: users, sessions and authorization codes,
records, duplicate rules, sharing settings and manual shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.core import SimServer
from sandbox.salesforce.errors import api_error
from sandbox.salesforce.schema import SObjectDef

DEFAULT_VERSION = "62.0"
DATA_PATH_RE = re.compile(r"/services/data/v(\d+\.\d)(?:/(.*))?")


@dataclass(frozen=True)
class DuplicateRule:
    sobject: str
    field: str
    name: str
    matching_rule: str


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Store = dict[str, dict[str, dict[str, Any]]]

# Record access levels, and how each owned object shares its records (Salesforce's organization-wide defaults).
NO_ACCESS, READ, EDIT = 0, 1, 2
SHARE_ACCESS = {"Read": READ, "Edit": EDIT}
SHARING_MODELS = ("Private", "PublicRead", "PublicReadWrite", "ControlledByParent")
DEFAULT_SHARING = {
    "Account": "Private",
    "Contact": "ControlledByParent",
    "Order": "Private",
    "OrderItem": "ControlledByParent",
    "Contract": "ControlledByParent",
}
_PARENTS = {
    "Contact": ("AccountId", "Account"),
    "Order": ("AccountId", "Account"),
    "OrderItem": ("OrderId", "Order"),
    "Contract": ("AccountId", "Account"),
}


@dataclass(frozen=True)
class SimUser:
    """A Salesforce user: signs in at the login page (when it has a password) and owns what its tokens may see.

    view_all: "View All Data" (reads every record of its org); modify_all: "Modify All Data" (also edits them).
    """

    user_id: str
    username: str
    password: str | None = field(repr=False)
    name: str
    email: str
    org_id: str
    view_all: bool = False
    modify_all: bool = False

    @property
    def first_name(self) -> str | None:
        return self.name.rpartition(" ")[0] or None

    @property
    def last_name(self) -> str:
        return self.name.rpartition(" ")[2]

    @property
    def nickname(self) -> str:
        return self.username.partition("@")[0]


@dataclass(frozen=True)
class Session:
    user_id: str
    issued: float
    refresh_token: str | None = None


@dataclass(frozen=True)
class AuthCode:
    user_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    scope: str
    expires: float


@dataclass(frozen=True)
class RefreshGrant:
    user_id: str
    scope: str


class OrgState(SimServer):
    """What the simulated org holds, shared by the parts of `SalesforceSim` (which sets all of it in `__init__`),
    and who may see or edit which record."""

    org_id: str
    user_id: str
    client_id: str
    client_secret: str
    jwt_username: str
    jwt_audience: str
    currencies: tuple[str, ...]
    session_timeout: float | None
    duplicate_result_key: str
    email_internationalization: bool
    allowed_redirect_uris: list[str]
    require_pkce: bool
    require_secret_for_web_server_flow: bool
    code_lifetime: float
    issued_credentials: list[str]
    schema: dict[str, SObjectDef]
    _jwt_key: Any
    _sharing: dict[str, str]
    _tokens: dict[str, Session]
    _refresh_tokens: dict[str, RefreshGrant]
    _codes: dict[str, AuthCode]
    _spent_codes: dict[str, list[str]]
    _shares: dict[tuple[str, str], int]
    _users: dict[str, SimUser]
    _id_seq: int
    _order_seq: int
    _api_calls: int
    api_usage_limit: int
    _data: Store
    _deleted: Store  # the Recycle Bin: deleted records (IsDeleted = true), which only queryAll reads
    _duplicate_rules: list[DuplicateRule]

    if TYPE_CHECKING:
        # The REST API's router (`RestApi`), which Composite subrequests go through.
        def _route(
            self,
            method: str,
            version: str,
            rest: str,
            args: dict[str, list[str]],
            body: Any,
            *,
            top_level: bool,
            user: SimUser | None,
        ) -> Reply: ...

    def _access(self, type_name: str, record: dict[str, Any], user: SimUser | None) -> int:
        """What `user` may do with a record (None: the Python API, which sees everything)."""
        if user is None:
            return EDIT
        if user.org_id != self.org_id:
            return NO_ACCESS
        model = self._sharing.get(type_name)
        if model is None:  # objects without owner (products, price books, users): readable by the whole org
            return EDIT if user.modify_all else READ
        if model == "ControlledByParent":
            parent_field, parent_type = _PARENTS[type_name]
            parent = self._data[parent_type].get(record.get(parent_field) or "")
            if parent is not None:
                return self._access(parent_type, parent, user)
        if user.modify_all or record.get("OwnerId") == user.user_id:
            return EDIT
        level = self._shares.get((record["Id"], user.user_id), NO_ACCESS)
        if model == "PublicReadWrite":
            return EDIT
        if model == "PublicRead" or user.view_all:
            return max(level, READ)
        return level

    def _require_edit(self, sobj: SObjectDef, record: dict[str, Any], user: SimUser | None) -> None:
        if self._access(sobj.name, record, user) < EDIT:
            raise api_error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
