"""Server-rendered HTML for the Send to Zuora button: every value escaped, no script, no third-party asset."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sfzsync.send_to_zuora.cookies import UserSession
    from sfzsync.send_to_zuora.plans import AccountPlan, OrderPlan, PushOutcome

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f9;color:#181b20}
main{max-width:880px;margin:32px auto;padding:28px 36px;background:#fff;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.sub{color:#5a6270;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6ea;vertical-align:top;white-space:nowrap}
td:first-child,td:last-child{white-space:normal}
th{background:#f8f9fb;font-weight:600;font-size:13px;color:#414854}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:8px 0}dt{color:#5a6270}dd{margin:0}
.problems{background:#fff4f2;border:1px solid #f3c2bb;border-radius:6px;padding:10px 18px;margin:16px 0}
.problems li{margin:4px 0}
.ok{background:#f1faf3;border:1px solid #b9e3c3;border-radius:6px;padding:10px 18px;margin:16px 0}
.error{background:#fff4f2;border:1px solid #f3c2bb;border-radius:6px;padding:10px 18px;margin:16px 0}
button{font:inherit;font-weight:600;background:#0b5cab;color:#fff;border:0;border-radius:6px;padding:10px 22px;
cursor:pointer}button:disabled{background:#a8b3c0;cursor:not-allowed}
code{font-size:13px;background:#f1f3f6;padding:1px 5px;border-radius:4px}
.muted{color:#5a6270;font-size:13px}
"""

_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, subtitle: str | None = None) -> str:
    """A whole document; `body` must already be HTML built with `e()`."""
    sub = f'<p class="sub">{e(subtitle)}</p>' if subtitle else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(title)} · Send to Zuora</title><style>{_CSS}</style></head>"
        f"<body><main><h1>{e(title)}</h1>{sub}{body}</main></body></html>"
    )


def definition_list(rows: Iterable[tuple[str, object]], element_id: str | None = None) -> str:
    attribute = f' id="{e(element_id)}"' if element_id else ""
    items = "".join(
        f"<dt>{e(label)}</dt><dd>{e(value) if value not in (None, '') else '—'}</dd>" for label, value in rows
    )
    return f"<dl{attribute}>{items}</dl>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], element_id: str) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(c) if c not in (None, '') else '—'}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<table id="{e(element_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def problems_box(problems: Sequence[str]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{e(p)}</li>" for p in problems)
    return (
        f'<div class="problems" id="problems"><strong>Fix these in Salesforce before sending:</strong>'
        f"<ul>{items}</ul></div>"
    )


def send_form(action: str, fields: dict[str, str], enabled: bool, label: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in fields.items())
    disabled = "" if enabled else " disabled"
    button = f'<button id="send" type="submit"{disabled}>{e(label)}</button>'
    return f'<form method="post" action="{e(action)}">{hidden}{button}</form>'


def error_page(title: str, message: str, what_to_do: str | None = None) -> str:
    hint = f"<p>{e(what_to_do)}</p>" if what_to_do else ""
    return page(title, f'<div class="error" id="error"><p>{e(message)}</p>{hint}</div>')


# --- the pages of the flow --------------------------------------------------------------------------------------


def _account_section(plan: AccountPlan) -> str:
    account, contact = plan.account, plan.account.contact
    billing = account.billing
    address = ", ".join(
        p for p in (billing.street, billing.city, billing.state, billing.postal_code, billing.country) if p
    )
    rows = [
        ("Zuora will", plan.action),
        ("Name", account.name),
        ("Currency", plan.currency),
        ("CRM Account ID", account.account_id),
        ("Bill-to contact", f"{contact.first_name or ''} {contact.last_name}".strip() if contact else None),
        ("Bill-to email", contact.email if contact else None),
        ("Bill-to address", address),
    ]
    return "<h2>Zuora account</h2>" + definition_list(rows, "zuora-account")


def refusal_box(reason: str | None) -> str:
    return f'<div class="problems" id="not-allowed"><p>{e(reason)}</p></div>' if reason else ""


def _footer(session: UserSession) -> str:
    return f'<p class="muted">Signed in to Salesforce as {e(session.user_name)}.</p>'


def render_account_preview(plan: AccountPlan, form: dict[str, str], session: UserSession) -> str:
    body = (
        refusal_box(plan.refusal)
        + problems_box(plan.problems)
        + _account_section(plan)
        + send_form("sfdccpq", form, not plan.problems and plan.refusal is None, "Send to Zuora")
        + _footer(session)
    )
    return page(f"Send {plan.account.name} to Zuora", body, "Preview: nothing has been sent yet.")


_KIND_LABELS = {"new": "New Order", "amendment": "Amendment", "renewal": "Renewal"}


def _order_section(plan: OrderPlan) -> str:
    order = plan.order
    if plan.repair:
        will = "nothing: Zuora already has this Order; Send fills in the Salesforce fields"
    elif plan.kind == "new":
        will = "create one subscription"
    else:
        number = plan.subscription.subscription_number if plan.subscription else "its subscription"
        will = f"change {number} with one order"
    rows: list[tuple[str, object]] = [("Order type", _KIND_LABELS[plan.kind]), ("Zuora will", will)]
    if plan.kind == "new":
        rows.append(("Term", plan.term_label))
    rows += [("Start", plan.start.isoformat()), ("Order status", order.status)]
    summary = "".join(f"<li>{e(line)}</li>" for line in plan.summary)
    steps = f'<ul id="zuora-actions">{summary}</ul>' if summary and not plan.repair else ""
    lines = table(
        ["Product", "Quantity", "Charge", "Billing", "Zuora will"],
        [
            (la.line.product_name, f"{la.line.quantity:g}", la.line.charge_type, la.line.billing_frequency, la.text)
            for la in plan.actions
        ]
        or [(ln.product_name, f"{ln.quantity:g}", ln.charge_type, ln.billing_frequency, "") for ln in order.lines],
        "order-lines",
    )
    return "<h2>Subscription</h2>" + definition_list(rows, "zuora-subscription") + steps + lines


def render_order_preview(plan: OrderPlan, form: dict[str, str], session: UserSession) -> str:
    refusal = plan.account_plan.refusal
    account = _account_section(plan.account_plan) if plan.kind == "new" else ""
    body = (
        refusal_box(refusal)
        + problems_box(plan.problems)
        + account
        + _order_section(plan)
        + send_form("sfdccpq", form, not plan.blocked, "Send to Zuora")
        + _footer(session)
    )
    return page(f"Send Order {plan.order.order_number} to Zuora", body, "Preview: nothing has been sent yet.")


def render_result(title: str, outcome: PushOutcome) -> str:
    numbers = (
        f'<dl id="result-numbers"><dt>Zuora account</dt><dd id="zuora-account-number">'
        f"{e(outcome.zuora_account_number)}</dd>"
    )
    if outcome.order_number or outcome.subscription_numbers:
        numbers += (
            f'<dt>Zuora order</dt><dd id="zuora-order-number">{e(outcome.order_number or "")}</dd>'
            f'<dt>Subscriptions</dt><dd id="subscription-numbers">'
            f"{e(', '.join(outcome.subscription_numbers))}</dd>"
        )
    numbers += "</dl>"
    written = outcome.write_back
    if outcome.already_sent:
        sent = outcome.already_sent
        when = f" on {sent.sent_at[:10]}" if sent.sent_at else ""
        message = f"This Order was already sent to Zuora{when}; nothing new was created."
        return page(f"{title}: already in Zuora", _box("ok", "already-sent", message, numbers))
    if written is not None and not written.written:
        message = (
            "Sent to Zuora, but Salesforce could not be updated with the Zuora numbers "
            f"({written.error}). Press Send again to fill them in: nothing will be sent to Zuora twice."
        )
        return page(f"{title}: sent, Salesforce not updated", _box("error", "sent-write-back-failed", message, numbers))
    if outcome.repaired:
        message = "Zuora already had this Order; nothing was sent again. Salesforce now shows the Zuora numbers."
        return page(f"{title}: Salesforce updated", _box("ok", "repaired", message, numbers))
    account = f"Zuora account {outcome.zuora_account_number} {outcome.account_action}"
    message = f"Sent to Zuora: {account}" + (", and the order placed." if outcome.order_number else ".")
    return page(f"{title}: sent to Zuora", _box("ok", "sent", message, numbers))


def _box(kind: str, outcome: str, message: str, numbers: str) -> str:
    return f'<div class="{kind}" id="result" data-outcome="{outcome}"><p>{e(message)}</p>{numbers}</div>'
