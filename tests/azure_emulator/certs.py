"""A throw-away CA and a 127.0.0.1/localhost server certificate (trustme)."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme


class Certificates:
    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA(organization_name="aitk Azure emulator CA")
        self.server_cert = self.ca.issue_cert("127.0.0.1", "localhost", "::1")
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_path = folder / "emulator-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(ctx)
        return ctx
