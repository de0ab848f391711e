"""What to tell a person about failures whose cause is not in Azure's answer: untrusted TLS, and
server errors that outlasted every retry. Also the small text rules shared by error messages."""

from __future__ import annotations

import ssl
from typing import Any

TLS_HINT = (
    "If a proxy or firewall re-signs "
    "HTTPS, point REQUESTS_CA_BUNDLE or SSL_CERT_FILE (in VS Code: the aitk.inference.caBundle "
    "setting) at its CA certificate bundle (PEM), then retry."
)


def server_error_hint(status: int) -> str | None:
    """For a 5xx that the SDK retry policy already retried several times."""
    if status < 500:
        return None
    return (
        f"Azure kept answering HTTP {status} after several retries; this is usually temporary. "
        "Wait a few minutes and try again; if it persists, check Service Health in the Azure portal."
    )


def is_tls_failure(exc: BaseException) -> bool:
    """A certificate verification failure anywhere in the exception chain (aiohttp wraps it)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(err):
            return True
        todo += [err.__cause__, err.__context__, getattr(err, "inner_exception", None)]
        todo += [getattr(err, "exc", None), getattr(err, "certificate_error", None)]
    return False


def sentence(text: str) -> str:
    """``text`` ending with exactly one full stop (Azure's messages sometimes already have one)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def code_text(value: Any) -> str:
    """An SDK error code as Azure wrote it: ``AuthenticationFailed``, not ``StorageErrorCode.AUTHENTICATION_FAILED``."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))
