"""The record store: create, update and delete with Salesforce's validation (field kinds, read-only and required
fields, references and access to them, field lengths and email addresses, restricted picklists), duplicate
rules, derived fields and roll-ups."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from sandbox.salesforce.errors import SalesforceApiError, api_error, json_parser_error, not_found
from sandbox.salesforce.fields import check_value
from sandbox.salesforce.ids import canonical_id, new_record_id
from sandbox.salesforce.schema import ID_KINDS, SYSTEM_FIELDS, TEXT_KINDS, FieldDef, SObjectDef
from sandbox.salesforce.state import EDIT, READ, DuplicateRule, OrgState, SimUser, Store
from sandbox.salesforce.values import parse_datetime, record_attributes, render_value, utc

DUPLICATE_MESSAGE = "You're creating a duplicate record. We recommend you use an existing record instead."


class RecordStore(OrgState):
    """Records by type and Id, as `SalesforceSim` keeps them (values in Python types, rendered on the way out)."""

    def _sobject(self, name: str) -> SObjectDef:
        found = next((s for s in self.schema.values() if s.name.lower() == name.lower()), None)
        if found is None:
            raise ValueError(f"unknown sObject type {name!r}")
        return found

    def _sobject_or_404(self, name: str) -> SObjectDef:
        try:
            return self._sobject(name)
        except ValueError:
            raise not_found() from None

    def _field_or_error(self, sobj: SObjectDef, name: str) -> FieldDef:
        definition = sobj.field(name)
        if definition is None:
            raise api_error("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobj.name}")
        return definition

    def _new_id(self, type_name: str) -> str:
        self._id_seq += 1
        return new_record_id(self.schema[type_name].prefix, self._id_seq)

    def _create(
        self,
        sobj: SObjectDef,
        raw: dict[str, Any],
        version: str,
        *,
        duplicates: bool,
        created: datetime | None = None,
        seeding: bool = False,
        user: SimUser | None = None,
    ) -> str:
        if user is not None and user.org_id != self.org_id:
            raise api_error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
        values = self._initial_values(sobj, user) | self._coerce(sobj, raw, read_only_ok=seeding)
        self._check_required(sobj, values)
        self._check_references(sobj, values, user)
        if duplicates:
            self._check_duplicates(sobj, values, version)
        record_id = self._new_id(sobj.name)
        self._store(sobj, record_id, values, created)
        return record_id

    def _store(self, sobj: SObjectDef, record_id: str, values: dict[str, Any], created: datetime | None) -> None:
        stamp = utc(created) if created else datetime.now(UTC)
        record: dict[str, Any] = {d.name: None for d in sobj.fields.values()}
        record.update(self._defaults(sobj))
        record.update(values)
        record.update({"Id": record_id, "IsDeleted": False, "CreatedDate": stamp, "LastModifiedDate": stamp})
        self._derive(sobj, record)
        self._data[sobj.name][record_id] = record
        self._after_write(sobj, record, None)

    def _initial_values(self, sobj: SObjectDef, user: SimUser | None) -> dict[str, Any]:
        """Field defaults a create starts from (before the caller's values): picklist defaults, and the creating
        user as owner."""
        values = {d.name: d.default for d in sobj.fields.values() if d.default is not None}
        if user is not None and sobj.field("OwnerId"):
            values["OwnerId"] = user.user_id
        return values

    def _defaults(self, sobj: SObjectDef) -> dict[str, Any]:
        defaults: dict[str, Any] = {d.name: False for d in sobj.fields.values() if d.kind == "boolean"}
        if sobj.field("OwnerId"):
            defaults["OwnerId"] = self.user_id
        if sobj.name == "Order":
            defaults["OrderNumber"] = f"{self._order_seq:08d}"
            defaults["TotalAmount"] = 0.0
            self._order_seq += 1
        return defaults

    def _derive(self, sobj: SObjectDef, record: dict[str, Any]) -> None:
        if sobj.name in ("Contact", "User"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None
        if sobj.name == "PricebookEntry":
            product = self._data["Product2"].get(record.get("Product2Id") or "") or {}
            record["Name"], record["ProductCode"] = product.get("Name"), product.get("ProductCode")
        if sobj.name == "OrderItem":
            entry = self._data["PricebookEntry"].get(record.get("PricebookEntryId") or "")
            if entry is not None and record.get("Product2Id") is None:
                record["Product2Id"] = entry.get("Product2Id")
            quantity, price = record.get("Quantity"), record.get("UnitPrice")
            record["TotalPrice"] = None if quantity is None or price is None else quantity * price
            order = self._data["Order"].get(record.get("OrderId") or "")
            if self.currencies and order is not None:
                record["CurrencyIsoCode"] = order.get("CurrencyIsoCode")

    def _after_write(self, sobj: SObjectDef, record: dict[str, Any], previous_order: str | None) -> None:
        """Keep roll-ups true: an Order's TotalAmount is the sum of its items' TotalPrice."""
        if sobj.name == "OrderItem":
            for order_id in {record.get("OrderId"), previous_order} - {None}:
                self._roll_up_order(str(order_id))

    def _roll_up_order(self, order_id: str) -> None:
        order = self._data["Order"].get(order_id)
        if order is not None:
            items = [i for i in self._data["OrderItem"].values() if i.get("OrderId") == order_id]
            order["TotalAmount"] = float(sum(i.get("TotalPrice") or 0.0 for i in items))

    def _update(self, sobj: SObjectDef, raw_id: str, raw: dict[str, Any], user: SimUser | None = None) -> None:
        record_id = canonical_id(raw_id)
        record = self._data[sobj.name].get(record_id or "")
        if record is None or self._access(sobj.name, record, user) < READ:
            raise not_found()
        self._require_edit(sobj, record, user)
        values = self._coerce(sobj, raw)
        self._check_required(sobj, {**record, **values})
        self._check_references(sobj, values, user)
        previous_order = record.get("OrderId")
        record.update(values)
        record["LastModifiedDate"] = datetime.now(UTC)
        self._derive(sobj, record)
        self._after_write(sobj, record, previous_order)

    def _delete(self, sobj: SObjectDef, record_id: str, master_id: str | None = None) -> None:
        """Move a record to the Recycle Bin (IsDeleted = true; only queryAll still reads it) with what goes with it:
        an Order's items (master-detail) and an Account's Contacts (Salesforce Help, "Delete Accounts": deleting an
        account deletes its contacts too). A merge names the record that remained (MasterRecordId)."""
        record = self._data[sobj.name].pop(record_id)
        record.update({"IsDeleted": True, "LastModifiedDate": datetime.now(UTC)})
        if master_id is not None:
            record["MasterRecordId"] = master_id
        self._deleted[sobj.name][record_id] = record
        children = {"Order": ("OrderItem", "OrderId"), "Account": ("Contact", "AccountId")}.get(sobj.name)
        if children is not None:
            child_type, parent_field = children
            for child_id in [i for i, child in self._data[child_type].items() if child.get(parent_field) == record_id]:
                self._delete(self.schema[child_type], child_id)
        self._after_write(sobj, record, None)

    def _merge(self, sobj: SObjectDef, master_id: str, loser_ids: list[str]) -> None:
        """Salesforce's merge (SOAP API Developer Guide, merge(): up to three records of one type, Lead, Contact or
        Account; the others are deleted and their related records reparented to the master; queryAll() shows the
        deleted ones): an Account's Contacts move to the master, and each loser keeps MasterRecordId = the master."""
        if sobj.name not in ("Account", "Contact"):
            raise ValueError(f"{sobj.name} records can't be merged here (Account and Contact only)")
        if master_id not in self._data[sobj.name] or not loser_ids or not 1 <= len(loser_ids) <= 2:
            raise ValueError("merge takes a live master and one or two other live records (three at most)")
        for loser_id in loser_ids:
            if loser_id == master_id or loser_id not in self._data[sobj.name]:
                raise ValueError(f"no other live {sobj.name} {loser_id!r} to merge")
            if sobj.name == "Account":
                for contact in self._data["Contact"].values():
                    if contact.get("AccountId") == loser_id:
                        contact["AccountId"] = master_id
            self._delete(sobj, loser_id, master_id=master_id)

    def _coerce(self, sobj: SObjectDef, raw: dict[str, Any], *, read_only_ok: bool = False) -> dict[str, Any]:
        values: dict[str, Any] = {}
        read_only: list[str] = []
        for name, value in raw.items():
            if name == "attributes":
                continue
            definition = self._field_or_error(sobj, name)
            if not definition.writable and not (read_only_ok and definition.name not in SYSTEM_FIELDS):
                read_only.append(definition.name)
                continue
            values[definition.name] = _coerce_value(sobj, definition, value)
            self._check_value(sobj, definition, values[definition.name])
        if read_only:
            raise api_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of this "
                "field and verify that it is read/write for your profile or permission set.",
                fields=read_only,
            )
        return values

    def _check_value(self, sobj: SObjectDef, definition: FieldDef, value: Any) -> None:
        """Field lengths and email addresses, as Salesforce checks them (rules and sources in `fields`)."""
        if not isinstance(value, str):
            return
        eai = self.email_internationalization
        refused = check_value(sobj.name, definition.name, definition.kind, value, email_internationalization=eai)
        if refused is not None:
            raise api_error(refused.error_code, refused.message, fields=[refused.field])

    def _check_required(self, sobj: SObjectDef, values: dict[str, Any]) -> None:
        missing = [d.name for d in sobj.fields.values() if d.required and values.get(d.name) in (None, "")]
        if missing:
            raise api_error(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", fields=missing
            )

    def _check_references(self, sobj: SObjectDef, values: dict[str, Any], user: SimUser | None = None) -> None:
        for name, value in values.items():
            definition = sobj.fields[name.lower()]
            if definition.kind != "reference" or value is None or definition.target is None:
                continue
            if not value.startswith(self.schema[definition.target].prefix):
                raise api_error(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{definition.target} ID: id value of incorrect type: {value}",
                    fields=[definition.name],
                )
            target = self._data[definition.target].get(value)
            if target is None:
                raise api_error(
                    "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", fields=[definition.name]
                )
            # A detail needs edit access to its master; a lookup needs to see its target.
            needed = EDIT if (sobj.name, definition.name) == ("OrderItem", "OrderId") else READ
            if self._access(definition.target, target, user) < needed:
                raise api_error(
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"insufficient access rights on cross-reference id: {value}",
                    fields=[definition.name],
                )

    def _check_duplicates(self, sobj: SObjectDef, values: dict[str, Any], version: str) -> None:
        for rule in (r for r in self._duplicate_rules if r.sobject == sobj.name):
            wanted = _match_key(values.get(rule.field))
            if wanted is None:
                continue
            matches = [rid for rid, rec in self._data[sobj.name].items() if _match_key(rec.get(rule.field)) == wanted]
            if matches:
                raise self._duplicate_error(rule, matches, version)

    def _duplicate_error(self, rule: DuplicateRule, matches: list[str], version: str) -> SalesforceApiError:
        match_records = [
            {
                "additionalInformation": [],
                "fieldDiffs": [],
                "matchConfidence": 100.0,
                "record": {"attributes": record_attributes(rule.sobject, rid, version), "Id": rid},
            }
            for rid in matches
        ]
        result = {
            "allowSave": False,
            "duplicateRule": rule.name,
            "duplicateRuleEntityType": rule.sobject,
            "errorMessage": DUPLICATE_MESSAGE,
            "matchResults": [
                {
                    "entityType": rule.sobject,
                    "errors": [],
                    "matchEngine": "ExactMatchEngine",
                    "matchRecords": match_records,
                    "rule": rule.matching_rule,
                    "size": len(match_records),
                    "success": True,
                }
            ],
        }
        item = {self.duplicate_result_key: result, "errorCode": "DUPLICATES_DETECTED", "fields": []}
        item["message"] = "Use one of these records?"
        return SalesforceApiError(400, [item])

    def _render_record(self, sobj: SObjectDef, record: dict[str, Any]) -> dict[str, Any]:
        return {d.name: render_value(record.get(d.name)) for d in sobj.fields.values()}

    def _snapshot(self) -> tuple[Store, Store]:
        return copy.deepcopy(self._data), copy.deepcopy(self._deleted)

    def _restore(self, snapshot: tuple[Store, Store]) -> None:
        self._data, self._deleted = snapshot


def _coerce_value(sobj: SObjectDef, definition: FieldDef, value: Any) -> Any:
    if value is None or value == "":
        return None
    kind = definition.kind
    if kind in TEXT_KINDS:
        return _coerce_text(definition, value)
    if kind in ID_KINDS:
        return _coerce_reference(sobj, definition, value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "boolean" and str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    try:
        if kind == "double" and not isinstance(value, bool):
            return float(value)
        if kind == "date" and isinstance(value, str):
            return date.fromisoformat(value)
        if kind == "datetime" and isinstance(value, str):
            return parse_datetime(value)
    except ValueError:
        pass
    raise json_parser_error(f"Cannot deserialize instance of {kind} from VALUE_STRING value {value}")


def _coerce_text(definition: FieldDef, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise json_parser_error(f"Cannot deserialize instance of string from {type(value).__name__} value")
    text = str(value)
    if definition.values is not None and text not in definition.values:
        detail = (
            f"Currency ISO Code: invalid currency code: {text}"
            if definition.name == "CurrencyIsoCode"
            else f"{definition.name}: bad value for restricted picklist field: {text}"
        )
        raise api_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", detail, fields=[definition.name])
    return text


def _coerce_reference(sobj: SObjectDef, definition: FieldDef, value: Any) -> str:
    label = f"{definition.target or sobj.name} ID"
    normalised = canonical_id(value)
    if normalised is None:
        raise api_error("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", fields=[definition.name])
    return normalised


def _match_key(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None
