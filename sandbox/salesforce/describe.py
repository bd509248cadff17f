"""sObject Describe (`GET /services/data/vXX.X/sobjects/{name}/describe`): the object's and its fields' metadata,
as Salesforce's REST API documents it (sObject Describe resource: `name`, `createable`, `updateable`, `queryable`,
`fields[]` with `name`, `type`, `length`, `createable`, `updateable`, `nillable`). The integration user may do
everything, so the object-level flags are true; a field the simulator computes (Id, CreatedDate, ...) is not
createable. Enough of it for `make doctor`, which checks that the fields this service reads and writes exist."""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.fields import text_field
from sandbox.salesforce.schema import FieldDef, SObjectDef

# Salesforce's field types by the simulator's kinds (SOAP/REST type names, "Field Types" in the Object Reference).
_TYPES = {"string": "string", "id": "id", "reference": "reference", "textarea": "textarea", "picklist": "picklist"}


def _field(sobject: str, definition: FieldDef) -> dict[str, Any]:
    limit = text_field(sobject, definition.name)
    return {
        "name": definition.name,
        "type": _TYPES.get(definition.kind, definition.kind),
        "length": limit.length if limit else (255 if definition.kind in ("string", "textarea") else 0),
        "createable": definition.writable,
        "updateable": definition.writable,
        "nillable": not definition.required,
        "custom": definition.name.endswith("__c"),
        "referenceTo": [definition.target] if definition.target else [],
        "picklistValues": [{"value": v, "active": True} for v in definition.values or ()],
    }


def describe(sobject: SObjectDef) -> dict[str, Any]:
    return {
        "name": sobject.name,
        "keyPrefix": sobject.prefix,
        "createable": True,
        "updateable": True,
        "queryable": True,
        "custom": sobject.name.endswith("__c"),
        "fields": [_field(sobject.name, definition) for definition in sobject.fields.values()],
    }
