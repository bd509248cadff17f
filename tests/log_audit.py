"""Log audit (README, Guarantees): every log line of the test session, checked for secrets, tokens, signatures, session
cookies and full email addresses.

What is collected:
- every log record any logger emits, through a handler on the root logger. Records of Powertools loggers (the
  functions' JSON logs) are formatted by their own Powertools handler, so the text is what the function writes to
  stdout, appended keys and formatted exceptions included; other records (botocore, the tracer's "Exception
  received from ..." with its traceback) get their message, extras and traceback;
- every test's captured stdout and stderr: JSON logs, EMF metrics, and the output of functions that ran in other
  processes (tests/chaos/fleet.py).

What is looked for: the secret values of every sandbox the session started, every access token, refresh token and
authorization code its simulators issued, the sandbox users' password, any `v1=<hex HMAC>` (an X-Signature), any
session or sign-in cookie (`sfz_session=`, `sfz_oauth=`), and any email address whose local part is not masked
(`j***@domain`). Tests may add exact values (`AUDIT.forbid`).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.logging.filters import SuppressFilter

_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_PLAIN = logging.Formatter("%(levelname)s %(name)s %(message)s")
EMAIL = re.compile(r"([A-Za-z0-9._%+'\\-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
MASKED_LOCAL_PART = re.compile(r"^.?\*\*\*$")
PATTERNS = {
    "X-Signature": re.compile(r"v1=[0-9a-fA-F]{64}"),
    "session cookie": re.compile(r"sfz_(?:session|oauth)=[^;\s\"']{8,}"),
}


def _powertools_handler(name: str) -> logging.Handler | None:
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        handler = getattr(logger, "powertools_handler", None)
        if handler is not None:
            return handler  # type: ignore[no-any-return]
        logger = logger.parent
    return None


@dataclass
class Finding:
    what: str
    source: str
    line: str


class LogAudit(logging.Handler):
    """The handler on the root logger, and the checks."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[tuple[str, str]] = []
        self.needles: dict[str, str] = {}
        self.sandboxes: list[Any] = []
        self._lines_lock = threading.Lock()

    def addFilter(self, filter: Any) -> None:  # logging's own name and signature
        """Powertools hides its records from root handlers (to avoid printing them twice); the audit reads them."""
        if not isinstance(filter, SuppressFilter):
            super().addFilter(filter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            handler = _powertools_handler(record.name)
            if handler is not None:
                text = handler.format(record)
            else:
                extras = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
                text = _PLAIN.format(record) + (f" {extras!r}" if extras else "")
        except Exception as exc:  # a record that cannot be formatted is audited as raw data
            text = f"{record.name} {record.msg!r} {record.args!r} ({exc!r})"
        self.add(f"log:{record.name}", text)

    def add(self, source: str, text: str) -> None:
        with self._lines_lock:
            self.lines.extend((source, line) for line in text.splitlines() if line.strip())

    def mark(self) -> int:
        with self._lines_lock:
            return len(self.lines)

    def forbid(self, what: str, value: str) -> None:
        self.needles[value] = what

    def watch(self, sandbox: Any) -> None:
        """Secrets of a sandbox's secret document and what its simulators issue are forbidden in logs."""
        from sandbox.demo_data import PASSWORD

        self.sandboxes.append(sandbox)
        document = sandbox.secret_document()
        for section in document.values():
            for name, value in section.items() if isinstance(section, dict) else ():
                if name in ("clientSecret", "signingSecret", "sessionKey") and isinstance(value, str):
                    self.forbid(f"secret {name}", value)
                if name == "signingSecrets":  # the current secret and, during a rotation, the previous one
                    for secret in value:
                        self.forbid("secret signingSecret", secret)
        pem_body = [line for line in sandbox.jwt_private_key.splitlines() if line and not line.startswith("-----")]
        self.forbid("secret privateKey", pem_body[0])
        self.forbid("a sandbox user's password", PASSWORD)

    def findings(self, since: int = 0) -> list[Finding]:
        needles = dict(self.needles)
        for sandbox in self.sandboxes:
            for sim in (sandbox.salesforce, sandbox.zuora):
                needles.update(dict.fromkeys(sim.issued_credentials, f"a token {sim.name} issued"))
        with self._lines_lock:
            lines = self.lines[since:]
        found = []
        for source, line in lines:
            found += [Finding(what, source, line) for value, what in needles.items() if value in line]
            found += [Finding(what, source, line) for what, pattern in PATTERNS.items() if pattern.search(line)]
            for match in EMAIL.finditer(line):
                if not MASKED_LOCAL_PART.match(match.group(1)):
                    found.append(Finding(f"email address {match.group(0)}", source, line))
        return found


AUDIT = LogAudit()


def report(findings: list[Finding], limit: int = 20) -> str:
    shown = [f"  {f.what} in {f.source}: {f.line[:300]}" for f in findings[:limit]]
    more = f"\n  ... and {len(findings) - limit} more" if len(findings) > limit else ""
    return "\n".join(shown) + more
