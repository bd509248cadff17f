"""The pages of the authorization endpoint (login and OAuth errors): plain HTML, everything echoed is escaped."""

from __future__ import annotations

import html
from collections.abc import Mapping

from werkzeug.wrappers import Response

_AUTHORIZE_FIELDS = (
    *("response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"),
    *("scope", "prompt", "nonce"),
)
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}
_PAGE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f3f3f3; color: #181818; margin: 0; }
main { max-width: 24rem; margin: 4rem auto; background: #fff; border: 1px solid #ddd; border-radius: 6px;
       padding: 2rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; color: #0b5cab; }
label { display: block; margin: 1rem 0 .3rem; font-size: .9rem; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .6rem; font-size: 1rem;
       border: 1px solid #c9c9c9; border-radius: 4px; }
button { margin-top: 1.5rem; width: 100%; padding: .7rem; font-size: 1rem; color: #fff; background: #0176d3;
       border: 0; border-radius: 4px; cursor: pointer; }
.error { background: #fddde3; border: 1px solid #ba0517; color: #8e030f; padding: .6rem; border-radius: 4px; }
.hint { color: #666; font-size: .85rem; }
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, content: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_PAGE_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{content}\n</main>\n</body>\n</html>\n"
    )


def login_page(params: Mapping[str, str], username: str, error: str | None) -> str:
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{_esc(params[name])}">'
        for name in _AUTHORIZE_FIELDS
        if params.get(name) is not None
    )
    alert = f'<div id="error" class="error" role="alert">{_esc(error)}</div>\n' if error else ""
    return _page(
        "Login | Salesforce",
        '<h1>Salesforce</h1>\n<p class="hint">Sandbox login</p>\n'
        f"{alert}"
        '<form method="post" action="/services/oauth2/authorize" id="login_form">\n'
        f"{hidden}\n"
        '<label for="username">Username</label>\n'
        f'<input type="text" id="username" name="username" value="{_esc(username)}" autocomplete="username" '
        'autocapitalize="off" spellcheck="false">\n'
        '<label for="password">Password</label>\n'
        '<input type="password" id="password" name="password" autocomplete="current-password">\n'
        '<button type="submit" id="login" name="Login">Log In</button>\n'
        "</form>",
    )


def error_page(error: str, description: str) -> str:
    return _page(
        "Error | Salesforce",
        "<h1>OAuth Error</h1>\n"
        "<p>We can't authorize you because of an OAuth error. For more information, contact your Salesforce "
        "administrator.</p>\n"
        f'<p class="error">Error: <span id="error">{_esc(error)}</span></p>\n'
        f'<p id="error_description">{_esc(description)}</p>',
    )


def html_response(page: str, status: int = 200) -> Response:
    return Response(page, status=status, content_type="text/html; charset=utf-8", headers=dict(_PAGE_HEADERS))
