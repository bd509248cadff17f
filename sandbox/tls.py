"""A throw-away certificate authority for the HTTPS simulators (trustme)."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


class SandboxCA:
    """One CA per sandbox run; its PEM goes into REQUESTS_CA_BUNDLE for the real clients."""

    def __init__(self, directory: Path) -> None:
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        directory.mkdir(parents=True, exist_ok=True)
        self.bundle_path = directory / "sandbox-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.bundle_path))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context
