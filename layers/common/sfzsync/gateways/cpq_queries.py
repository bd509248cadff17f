"""The SOQL the button runs with the signed-in user's token, and the records made of the answers.

Two Composite round trips per Order: (1) the Order, its order products, the user's access to it and, when one is
configured, their Custom Permission; (2) what those name: the Account and its first Contact, the bill-to and
ship-to Contacts, and the earlier order products an amendment or renewal refers to with their revisions.

- Edit access: `UserRecordAccess` with `UserId` and `RecordId` filters, as the Object Reference requires ("You can
  query up to 200 records" ... `WHERE UserId = [single ID] AND RecordId = [single ID]`).
- Custom Permission: `UserSetupEntityAccess`, "the enabled custom permissions of the running user" (API 48.0+).
  The usual route, `SetupEntityAccess` / `CustomPermission`, is surprising here: since Spring/Summer '20 only users
  with "View Setup and Configuration" may query those objects (Object Reference, "Special Access Rules"), so a sales
  rep's own token could never read them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from simple_salesforce.format import format_soql

from sfzsync.gateways.salesforce_records import (
    AccountRecord,
    Address,
    ContactRecord,
    LineWriteBack,
    OrderLine,
    OrderRecord,
    OrderWriteBackValues,
    OriginLine,
    RecordAccess,
)
from sfzsync.ids import to_18
from sfzsync.settings import SendToZuoraSettings

MAX_ORDER_ITEMS = 200
CONTACT_FIELDS = (
    "Id, FirstName, LastName, Email, Phone, MailingStreet, MailingCity, MailingState, MailingPostalCode, MailingCountry"
)


class CpqQueries:
    """SOQL for one deployment's field names (Product2 mapping, write-back fields, the Custom Permission)."""

    def __init__(self, settings: SendToZuoraSettings) -> None:
        self._settings = settings
        item, order = settings.writeBack.orderItem, settings.writeBack.order
        self._item_written = [item.subscriptionNumber, item.ratePlanId, item.chargeNumbers]
        self._order_written = [order.orderNumber, order.subscriptionNumber, order.syncStatus]

    # --- round trip 1 ------------------------------------------------------------------------------------------
    def access(self, user_id: str, record_id: str) -> dict[str, str]:
        queries = {
            "access": format_soql(
                "SELECT RecordId, HasEditAccess FROM UserRecordAccess WHERE UserId = {} AND RecordId = {}",
                user_id,
                record_id,
            )
        }
        if self._settings.permission:
            namespace, _, name = self._settings.permission.rpartition("__")
            queries["permission"] = format_soql(
                "SELECT Id FROM UserSetupEntityAccess WHERE DeveloperName = {} AND NamespacePrefix = {} LIMIT 1",
                name,
                namespace or None,
            )
        return queries

    def order(self, order_id: str) -> dict[str, str]:
        order_fields = ", ".join(
            [
                "Id, OrderNumber, AccountId, EffectiveDate, Status, Type, SBQQ__Quote__r.SBQQ__Type__c",
                "BillToContactId, ShipToContactId, Contract.SBQQ__Order__c",
                f"Contract.SBQQ__Order__r.{self._settings.writeBack.order.subscriptionNumber}",
                *self._order_written,
            ]
        )
        product = ["Product2Id", "Product2.Name", f"Product2.{self._settings.productRatePlanField}"]
        if self._settings.productRatePlanChargeField:
            product.append(f"Product2.{self._settings.productRatePlanChargeField}")
        item_fields = ", ".join(
            [
                "Id, Quantity, ServiceDate, EndDate, SBQQ__SubscriptionTerm__c, SBQQ__ChargeType__c",
                "SBQQ__BillingFrequency__c, SBQQ__RevisedOrderProduct__c, SBQQ__ContractAction__c",
                "SBQQ__Subscription__r.SBQQ__OrderProduct__c",
                *product,
                *self._item_written,
            ]
        )
        return {
            "order": format_soql("SELECT {:literal} FROM Order WHERE Id = {} LIMIT 1", order_fields, order_id),
            "items": format_soql(
                "SELECT {:literal} FROM OrderItem WHERE OrderId = {} ORDER BY CreatedDate ASC, Id ASC LIMIT {:literal}",
                item_fields,
                order_id,
                str(MAX_ORDER_ITEMS),
            ),
        }

    # --- round trip 2 ------------------------------------------------------------------------------------------
    def account(self, account_id: str, multi_currency: bool) -> dict[str, str]:
        fields = "Id, Name, BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry"
        if multi_currency:
            fields += ", CurrencyIsoCode"
        return {
            "account": format_soql("SELECT {:literal} FROM Account WHERE Id = {} LIMIT 1", fields, account_id),
            "contact": format_soql(
                "SELECT {:literal} FROM Contact WHERE AccountId = {} ORDER BY CreatedDate ASC, Id ASC LIMIT 1",
                CONTACT_FIELDS,
                account_id,
            ),
        }

    def related(self, order_id: str, contact_ids: list[str], origin_ids: list[str]) -> dict[str, str]:
        queries: dict[str, str] = {}
        if contact_ids:
            queries["contacts"] = format_soql(
                "SELECT {:literal} FROM Contact WHERE Id IN {} LIMIT 2", CONTACT_FIELDS, contact_ids
            )
        if origin_ids:
            written = ", ".join(self._item_written)
            queries["origins"] = format_soql(
                "SELECT Id, OrderId, Quantity, Product2.Name, {:literal} FROM OrderItem "
                "WHERE Id IN {} LIMIT {:literal}",
                written,
                origin_ids,
                str(MAX_ORDER_ITEMS),
            )
            queries["revisions"] = format_soql(
                "SELECT Id, Quantity, SBQQ__RevisedOrderProduct__c, SBQQ__ContractAction__c, {:literal} FROM OrderItem "
                "WHERE SBQQ__RevisedOrderProduct__c IN {} AND OrderId != {} LIMIT {:literal}",
                self._settings.writeBack.orderItem.subscriptionNumber,
                origin_ids,
                order_id,
                str(MAX_ORDER_ITEMS),
            )
        return queries

    # --- records -------------------------------------------------------------------------------------------------
    def access_of(self, results: dict[str, list[dict[str, Any]]]) -> RecordAccess:
        rows = results.get("access") or []
        permission = None if "permission" not in results else bool(results["permission"])
        return RecordAccess(bool(rows and rows[0].get("HasEditAccess") is True), permission)

    def line(self, item: dict[str, Any]) -> OrderLine:
        product = item.get("Product2") or {}
        subscription = item.get("SBQQ__Subscription__r") or {}
        term = item.get("SBQQ__SubscriptionTerm__c")
        charge_field = self._settings.productRatePlanChargeField
        return OrderLine(
            item_id=to_18(str(item["Id"])),
            product_name=str(product.get("Name") or "(no product)"),
            rate_plan_id=text(product.get(self._settings.productRatePlanField)),
            charge_id=text(product.get(charge_field)) if charge_field else None,
            quantity=float(item.get("Quantity") or 0),
            service_date=date(item.get("ServiceDate")),
            end_date=date(item.get("EndDate")),
            term_months=int(term) if isinstance(term, int | float) and term > 0 else None,
            charge_type=text(item.get("SBQQ__ChargeType__c")),
            billing_frequency=text(item.get("SBQQ__BillingFrequency__c")),
            product_id=_id(item.get("Product2Id")),
            revised_item_id=_id(item.get("SBQQ__RevisedOrderProduct__c")),
            subscribed_item_id=_id(subscription.get("SBQQ__OrderProduct__c")),
            contract_action=text(item.get("SBQQ__ContractAction__c")),
            written=self._line_written(item),
        )

    def order_record(
        self,
        row: dict[str, Any],
        lines: list[OrderLine],
        related: dict[str, list[dict[str, Any]]],
        access: RecordAccess,
    ) -> OrderRecord:
        wb = self._settings.writeBack.order
        contract = row.get("Contract") or {}
        contacts = {to_18(str(c["Id"])): contact(c) for c in related.get("contacts") or []}
        bill_to, ship_to = _id(row.get("BillToContactId")), _id(row.get("ShipToContactId"))
        return OrderRecord(
            order_id=to_18(str(row["Id"])),
            order_number=str(row.get("OrderNumber") or ""),
            account_id=to_18(str(row["AccountId"])),
            effective_date=date(row.get("EffectiveDate")),
            status=str(row.get("Status") or ""),
            lines=lines,
            order_type=text(row.get("Type")),
            quote_type=text((row.get("SBQQ__Quote__r") or {}).get("SBQQ__Type__c")),
            bill_to=contacts.get(bill_to or ""),
            ship_to=contacts.get(ship_to or ""),
            contract_order_id=_id(contract.get("SBQQ__Order__c")),
            contract_subscription_number=text((contract.get("SBQQ__Order__r") or {}).get(wb.subscriptionNumber)),
            written=OrderWriteBackValues(
                text(row.get(wb.orderNumber)), text(row.get(wb.subscriptionNumber)), text(row.get(wb.syncStatus))
            ),
            origins=self._origins(related),
            access=access,
        )

    def _origins(self, related: dict[str, list[dict[str, Any]]]) -> dict[str, OriginLine]:
        """Each earlier order product with its quantity after the revisions already sent (written back)."""
        sent_field = self._settings.writeBack.orderItem.subscriptionNumber
        revisions: dict[str, list[dict[str, Any]]] = {}
        for revision in related.get("revisions") or []:
            if text(revision.get(sent_field)) and revision.get("SBQQ__RevisedOrderProduct__c"):
                revisions.setdefault(to_18(str(revision["SBQQ__RevisedOrderProduct__c"])), []).append(revision)
        origins = {}
        for row in related.get("origins") or []:
            item_id = to_18(str(row["Id"]))
            quantity = float(row.get("Quantity") or 0)
            for revision in revisions.get(item_id, []):
                cancelled = revision.get("SBQQ__ContractAction__c") == "Cancel"
                quantity = 0.0 if cancelled else quantity + float(revision.get("Quantity") or 0)
            name = str((row.get("Product2") or {}).get("Name") or "(no product)")
            origins[item_id] = OriginLine(
                item_id, to_18(str(row["OrderId"])), name, max(quantity, 0.0), self._line_written(row)
            )
        return origins

    def _line_written(self, row: dict[str, Any]) -> LineWriteBack:
        fields = self._settings.writeBack.orderItem
        charges = text(row.get(fields.chargeNumbers)) or ""
        return LineWriteBack(
            text(row.get(fields.subscriptionNumber)),
            text(row.get(fields.ratePlanId)),
            tuple(number.strip() for number in charges.split(",") if number.strip()),
        )


def text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _id(value: object) -> str | None:
    return to_18(value) if isinstance(value, str) and value else None


def _address(row: dict[str, Any], prefix: str) -> Address:
    """A compound address field (Salesforce's BillingStreet, MailingCity, ...) from a record."""
    return Address(*(text(row.get(f"{prefix}{part}")) for part in ("Street", "City", "State", "PostalCode", "Country")))


def contact(row: dict[str, Any]) -> ContactRecord:
    mailing = _address(row, "Mailing")
    return ContactRecord(
        text(row.get("FirstName")),
        str(row.get("LastName") or ""),
        text(row.get("Email")),
        text(row.get("Phone")),
        mailing if any(vars(mailing).values()) else None,
    )


def account(results: dict[str, list[dict[str, Any]]], access: RecordAccess | None = None) -> AccountRecord | None:
    if not results.get("account"):
        return None
    row = results["account"][0]
    contact_rows = results.get("contact") or []
    billing = _address(row, "Billing")
    return AccountRecord(
        to_18(str(row["Id"])),
        str(row.get("Name") or ""),
        text(row.get("CurrencyIsoCode")),
        billing,
        contact(contact_rows[0]) if contact_rows else None,
        access or RecordAccess(),
    )
