"""Server-rendered HTML for the Send to Zuora button: every value escaped, no script, no third-party asset."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from html import escape

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f9;color:#181b20}
main{max-width:880px;margin:32px auto;padding:28px 36px;background:#fff;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.sub{color:#5a6270;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6ea;vertical-align:top;white-space:nowrap}
td:first-child{white-space:normal}
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
