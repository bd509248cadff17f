"""Field values on the wire: Salesforce's dateTime format, rendered values, record `attributes`, and the
case-insensitive form text and Id values are compared in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sandbox.salesforce.ids import canonical_id
from sandbox.salesforce.schema import ID_KINDS, TEXT_KINDS


def format_datetime(value: datetime) -> str:
    """Salesforce's dateTime wire format: 2026-11-23T18:00:00.000+0000."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_datetime(text: str) -> datetime:
    normalised = text.replace("Z", "+00:00")
    normalised = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", normalised)
    parsed = datetime.fromisoformat(normalised)
    if parsed.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return parsed.astimezone(UTC)


def render_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def comparable(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind in TEXT_KINDS:
        return str(value).lower()
    if kind in ID_KINDS:
        return canonical_id(value) or str(value)
    return value


def record_attributes(type_name: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": type_name, "url": f"/services/data/v{version}/sobjects/{type_name}/{record_id}"}
