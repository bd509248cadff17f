"""A scripted person pressing the Send to Zuora button: real HTTPS, real cookies, the simulator's login page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

from .stack import Sandbox


class _Forms(HTMLParser):
    """Collects each form's action and its input names/values (enough for the login and preview pages)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1][1][values["name"]] = values.get("value", "")


def forms_of(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def text_of(html: str, element_id: str) -> str | None:
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</', html, re.S)
    return match.group(1).strip() if match else None


class ButtonClient:
    """One browser: a cookie jar that trusts the sandbox CA and follows redirects like a browser would."""

    def __init__(self, sandbox: Sandbox, api_url: str) -> None:
        self.sandbox = sandbox
        self.api_url = api_url
        self.http = requests.Session()
        self.http.verify = str(sandbox.ca.bundle_path)
        self.http.trust_env = False

    def button_url(self, **record: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in record.items())
        return f"{self.api_url}/sfdccpq?sfdc=127.0.0.1:{self.sandbox.salesforce.port}&{query}"

    def open(self, url: str, username: str | None = None, password: str = "password") -> requests.Response:
        """Open the button; when Salesforce asks, sign in as `username`. Returns the last page."""
        response = self.http.get(url, timeout=30)
        if username is not None and "/services/oauth2/authorize" in response.url:
            response = self.sign_in(response, username, password)
        return response

    def sign_in(self, login_page: requests.Response, username: str, password: str) -> requests.Response:
        action, fields = next((a, f) for a, f in forms_of(login_page.text) if "username" in f)
        fields.update(username=username, password=password)
        return self.http.post(urljoin(login_page.url, action), data=fields, timeout=30)

    def press_send(self, preview: requests.Response, **overrides: str) -> requests.Response:
        action, fields = next((a, f) for a, f in forms_of(preview.text) if "csrf" in f)
        fields.update(overrides)
        return self.http.post(urljoin(preview.url, action), data=fields, timeout=30)
