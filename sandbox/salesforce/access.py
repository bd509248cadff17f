"""What a user may do, as Salesforce answers it over SOQL: `UserRecordAccess` and `UserSetupEntityAccess`.

- `UserRecordAccess` (Object Reference): "Represents a user's access to a set of records", read only, `query()`
  only. A query names one `UserId` and the records (`RecordId = ...` or `RecordId IN (...)`, up to 200), as the
  documented sample does (`WHERE UserId = [single ID] AND RecordId = [single ID]`); without both it is refused
  (MALFORMED_QUERY; the wording of that message is the simulator's, Salesforce documents only the rule). Rows carry
  HasReadAccess, HasEditAccess, HasDeleteAccess, HasTransferAccess, HasAllAccess and MaxAccessLevel (None, Read,
  Edit, All) as the record sharing of `state.OrgState._access` decides them for that user.
- `UserSetupEntityAccess` (Object Reference, API 48.0+): "the enabled custom permissions of the running user":
  DeveloperName, NamespacePrefix, SetupEntityId (the CustomPermission, key prefix `0CP`), SetupEntityType,
  KeyPrefix. Each user sees only their own. Custom permissions are defined with `add_custom_permission` and given
  with `grant_custom_permission` (a permission set assignment, in Salesforce).
- Neither object can be written: a create answers INVALID_TYPE_FOR_OPERATION.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.errors import api_error
from sandbox.salesforce.ids import canonical_id, new_record_id
from sandbox.salesforce.records import RecordStore
from sandbox.salesforce.schema import SObjectDef
from sandbox.salesforce.soql import BoolOp, Comparison, Condition, InList, SoqlEngine, SoqlParser
from sandbox.salesforce.state import EDIT, READ, SimUser

MAX_RECORD_IDS = 200
VIRTUAL_OBJECTS = ("UserRecordAccess", "UserSetupEntityAccess")
_LEVELS = {0: "None", READ: "Read", EDIT: "Edit"}


@dataclass
class _Permissions:
    defined: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)  # key → (id, name, namespace)
    granted: dict[str, set[str]] = field(default_factory=dict)  # user id → keys


class AccessObjects(RecordStore, SoqlEngine):
    """Answers the two objects from the org's sharing and the users' custom permissions."""

    @property
    def _permissions(self) -> _Permissions:
        found = self.__dict__.get("_custom_permissions")
        if found is None:
            found = self.__dict__["_custom_permissions"] = _Permissions()
        return found

    # --- Python API --------------------------------------------------------------------------------------
    def add_custom_permission(self, developer_name: str, namespace: str | None = None) -> str:
        """Define a Custom Permission; returns its `0CP` Id."""
        key = f"{namespace}__{developer_name}" if namespace else developer_name
        with self.lock:
            state = self._permissions
            if key not in state.defined:
                state.defined[key] = (new_record_id("0CP", len(state.defined) + 1), developer_name, namespace)
            return state.defined[key][0]

    def grant_custom_permission(self, user_id: str, name: str) -> None:
        """Give a user a Custom Permission (`ns__Name` for a packaged one), as a permission set assignment does."""
        with self.lock:
            if name not in self._permissions.defined:
                raise ValueError(f"no custom permission {name!r}")
            self._permissions.granted.setdefault(canonical_id(user_id) or user_id, set()).add(name)

    def revoke_custom_permission(self, user_id: str, name: str) -> None:
        with self.lock:
            self._permissions.granted.get(canonical_id(user_id) or user_id, set()).discard(name)

    # --- queries -----------------------------------------------------------------------------------------
    def _query(self, soql: str, version: str, user: SimUser | None = None, **options: Any) -> dict[str, Any]:
        name = _object_of(soql, self)
        if name not in VIRTUAL_OBJECTS:
            return super()._query(soql, version, user, **options)
        query = SoqlParser(soql, self.schema).parse()
        rows = self._access_rows(query.where) if name == "UserRecordAccess" else self._permission_rows(user)
        self._data[name] = rows
        try:
            return super()._query(soql, version, user, **options)
        finally:
            self._data[name] = {}

    def _create(self, sobj: SObjectDef, raw: dict[str, Any], version: str, **options: Any) -> str:
        if sobj.name in VIRTUAL_OBJECTS:
            raise api_error("INVALID_TYPE_FOR_OPERATION", f"entity type {sobj.name} does not support insert")
        return super()._create(sobj, raw, version, **options)

    def _access_rows(self, where: Condition | None) -> dict[str, dict[str, Any]]:
        filters = [where] if not isinstance(where, BoolOp) else list(where.items) if where.op == "AND" else []
        user_ids = [
            f.value for f in filters if isinstance(f, Comparison) and f.path.leaf.name == "UserId" and f.op == "="
        ]
        record_ids: list[str] = []
        for f in filters:
            if isinstance(f, Comparison) and f.path.leaf.name == "RecordId" and f.op == "=":
                record_ids.append(str(f.value))
            elif isinstance(f, InList) and f.path.leaf.name == "RecordId" and not f.negated:
                record_ids.extend(str(v) for v in f.values)
        if len(user_ids) != 1 or not record_ids:
            raise api_error(
                "MALFORMED_QUERY", "UserRecordAccess queries need a filter on one UserId and on RecordId (= or IN)"
            )
        if len(record_ids) > MAX_RECORD_IDS:
            raise api_error("MALFORMED_QUERY", f"UserRecordAccess: no more than {MAX_RECORD_IDS} RecordId values")
        target = self._users.get(canonical_id(user_ids[0]) or "")
        rows: dict[str, dict[str, Any]] = {}
        for raw in record_ids:
            record_id = canonical_id(raw)
            found = next(((n, r[record_id]) for n, r in self._data.items() if record_id and record_id in r), None)
            if found is None or target is None:
                continue
            level = self._access(found[0], found[1], target)
            owner = target.modify_all or found[1].get("OwnerId") == target.user_id
            full = level >= EDIT and owner
            rows[str(record_id)] = {
                "Id": record_id,
                "UserId": target.user_id,
                "RecordId": record_id,
                "HasReadAccess": level >= READ,
                "HasEditAccess": level >= EDIT,
                "HasDeleteAccess": full,
                "HasTransferAccess": full,
                "HasAllAccess": full,
                "MaxAccessLevel": "All" if full else _LEVELS[level],
            }
        return rows

    def _permission_rows(self, user: SimUser | None) -> dict[str, dict[str, Any]]:
        state = self._permissions
        user_id = user.user_id if user is not None else self.user_id
        rows = {}
        for key in sorted(state.granted.get(user_id, set())):
            entity_id, name, namespace = state.defined[key]
            rows[entity_id] = {
                "Id": entity_id,
                "DeveloperName": name,
                "NamespacePrefix": namespace,
                "SetupEntityId": entity_id,
                "SetupEntityType": "CustomPermission",
                "KeyPrefix": "0CP",
                "DurableId": f"{user_id}-{entity_id}",
                "LastCacheUpdate": dt.datetime.now(dt.UTC),
            }
        return rows


def _object_of(soql: str, engine: SoqlEngine) -> str | None:
    """The FROM object of a query (cheaply: the full parse happens in the engine)."""
    words = soql.replace(",", " ").split()
    upper = [w.upper() for w in words]
    if "FROM" not in upper or upper.index("FROM") + 1 >= len(words):
        return None
    wanted = words[upper.index("FROM") + 1].lower()
    return next((s.name for s in engine.schema.values() if s.name.lower() == wanted), None)
