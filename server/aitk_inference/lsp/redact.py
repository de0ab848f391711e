"""Last line of defence: keep secrets out of anything sent to the client's output panel."""

from __future__ import annotations

import re

_PATTERNS = [
    # connection strings and SAS query parameters
    (
        re.compile(r"(?i)(AccountKey|SharedAccessSignature|sig|password|client_secret)=([^;&\s\"']+)"),
        r"\1=***",
    ),
    # bearer tokens and JWTs
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "***"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
