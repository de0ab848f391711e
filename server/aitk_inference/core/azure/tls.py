"""TLS trust for every Azure connection (ARM, Files, the endpoint probe): the user's CA bundle
when one is configured, else the system's."""

from __future__ import annotations

import os
import ssl


def ca_bundle() -> str | None:
    """The CA bundle users configure for Python HTTPS clients. aiohttp (azure-core's async transport)
    only honours SSL_CERT_FILE implicitly, through OpenSSL; REQUESTS_CA_BUNDLE needs passing on."""
    for var in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        value = os.environ.get(var)
        if value and os.path.isfile(value):
            return value
    return None


def ssl_context() -> ssl.SSLContext:
    """TLS trust for every Azure connection: the user's CA bundle when configured."""
    bundle = ca_bundle()
    return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()
